"""``diagnose``: run every check on a sample and gather them into a ``Report``."""

from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np

from .._checks import check_int, check_level
from .._compile import prepare
from .._problem import Problem
from .._target import make_target
from .._trees import posterior_params
from . import chord, membership, mixing, orbit, two_sample, volume, weights
from .distance import Witness, combine
from .draws import check_key, check_tree, features, flat_params, outputs, probe_points, subsample
from .reference import resolve_reference
from .report import CheckResult, Report, not_applicable

__all__ = ["diagnose"]

_NEEDS_PROBLEM = "needs a cn.Problem (network outputs and its symmetry group)"


def diagnose(
    tree,
    problem,
    *model_args,
    reference=None,
    rng_key=None,
    runs=(),
    alpha: float = 0.01,
    num_probes: int = 16,
    max_draws: int = 1000,
    **model_kwargs,
) -> Report:
    """How far is a sample from uniform on S? Every check, a verdict and one distance.

    Checks (each states its null in ``report.checks[name].null``):

    ``membership``
        Fraction of draws in S, recomputed from the weights (threshold 1).
    ``rhat``, ``ess``
        Rank-normalised R-hat (< 1.01, raised for short chains to its 99.9 % quantile
        for independent draws) and bulk ESS (>= min(400, N/4)) of the network
        outputs at probe points: the training inputs plus ``num_probes`` uniform points
        in the data's bounding box widened by 10 %.
    ``chord``
        Reference-free and exact: the relative position of each draw on a random chord
        of S is Uniform(0, 1) (see :mod:`consistent_nets.diagnostics.chord`). It flags
        samplers that stop at the boundary of S, such as the SGD heuristic.
    ``orbit``
        Chi-square test that the symmetry element mapping each draw to canonical form
        is uniform on the hidden-unit group.
    ``volume``
        Cochran's Q test that the log-volume estimates of ``tree``, ``runs`` and the
        reference agree within their SEs; not applicable with fewer than two.
    ``weights``
        PSIS Pareto k-hat of the final importance weights ``log_weights (chain, draw)``
        if the sampler stored them; not applicable otherwise.
    ``reference``
        Energy distance to the reference sample of the function-space features (sorted
        training depths, outputs at the random probe points) with a permutation
        p-value; not applicable without a reference.

    Verdict: ``passed`` is true when every applicable check passes, p-value checks at
    level ``alpha / k`` with ``k`` the number of applicable p-value checks (Bonferroni:
    an exact uniform sample fails with probability at most ``alpha`` from them) and
    threshold checks at their thresholds. Not-applicable checks do not count.

    ``distance``: the largest empirical Kolmogorov distance between the law of a
    witness statistic under the draws and under uniform on S: the chord position, and
    with a reference the depth in S and the norm of the probe outputs (two-sample). By data processing this estimates a lower
    bound on the total-variation distance between the draws' law and uniform on S; it is
    in ``[0, 1]``, and ``distance_noise`` is its 95 % quantile for an exact sample.

    Parameters
    ----------
    tree : xarray.DataTree
        From :func:`consistent_nets.sample` (``posterior`` with the weight sites).
    problem : Problem or callable
        The problem sampled. A NumPyro model (with ``*model_args, **model_kwargs``) gets
        only the membership, volume and weights checks: the others need a network.
    reference : None, DataTree, "rejection" or "auto"
        A reference sample from uniform on S, or ``"rejection"`` to draw one now
        (``min(N, 1000)`` exact draws within ``2**22`` prior draws; ``ValueError`` when
        the tree's ``log_volume`` says that is not enough), or ``"auto"``: rejection when
        it fits that budget, none otherwise. With ``None`` the verdict rests on the
        reference-free checks (chord, orbit, mixing, membership), which work at any
        problem size: the chord test costs about ``max_draws * (2 * 256 + 60)`` network
        evaluations on the training data, and on XOR it alone fails the SGD heuristic.
    rng_key : jax.random key
        Required: probe points, subsampling, chord directions, permutations, reference.
    runs : sequence of DataTree
        Independent runs of the same problem, for the ``volume`` check.
    alpha : float
        Family-wise level, in (0, 0.5].
    num_probes : int
        Random probe points besides the training inputs.
    max_draws : int
        Draws used by the chord and reference checks (a random subset when more).

    Returns
    -------
    Report

    Examples
    --------
    >>> import jax, consistent_nets as cn
    >>> X, y = cn.datasets.xor()
    >>> problem = cn.Problem(cn.MLP([2, 3, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
    >>> tree = cn.sample(problem, method="rejection", num_samples=400,
    ...                  rng_key=jax.random.key(0), progress_bar=False)
    >>> report = cn.diagnose(tree, problem, rng_key=jax.random.key(1))
    >>> sorted(report.checks)[:3]
    ['chord', 'ess', 'membership']
    """
    rng_key = check_key(rng_key)
    tree = check_tree(tree)
    runs = [check_tree(r, "runs") for r in (runs or ())]
    alpha = check_level("alpha", alpha, upper=0.5, closed=True)
    num_probes = check_int("num_probes", num_probes, minimum=0)
    max_draws = check_int("max_draws", max_draws, minimum=20)
    prepare()  # the persistent compilation cache, before the first compile
    keys = dict(zip(["probe", "sub", "chord", "ref", "perm", "refsub"], jax.random.split(rng_key, 6)))

    checks: dict[str, CheckResult] = {}
    witnesses: list[Witness] = []
    info: dict[str, object] = {}
    ref_tree = None
    if isinstance(problem, Problem):
        params, (num_chains, num_draws) = flat_params(tree, problem.net)
        num = num_chains * num_draws
        checks["membership"] = membership.membership_check(problem, params)
        X_probe = probe_points(problem, keys["probe"], num_probes)
        f = outputs(problem, params, X_probe)
        checks["rhat"], checks["ess"] = mixing.mixing_checks(f.reshape(num_chains, num_draws, -1))
        idx = subsample(keys["sub"], num, max_draws)
        checks["chord"], positions = chord.chord_check(problem, {k: v[idx] for k, v in params.items()}, keys["chord"])
        if checks["chord"].applicable:
            witnesses.append(Witness(checks["chord"].statistic, 1, positions.size))
        checks["orbit"], _ = orbit.orbit_check(problem, params)
        ref_tree, info["reference"] = resolve_reference(reference, tree, problem, keys["ref"], num)
        if ref_tree is not None:
            ref_params, _ = flat_params(ref_tree, problem.net)
            g = outputs(problem, ref_params, X_probe)
            half = max(max_draws // 2, 10)
            X_random = X_probe[problem.num_data :]
            x = features(problem, params, X_random)[subsample(keys["sub"], num, half)]
            y = features(problem, ref_params, X_random)[subsample(keys["refsub"], len(g), half)]
            # the smallest permutation p-value, 1 / (B + 1), must sit well below the
            # Bonferroni level alpha / 4 (at most four p-value checks)
            num_permutations = int(math.ceil(16 / alpha)) - 1
            checks["reference"] = two_sample.energy_check(x, y, keys["perm"], num_permutations)
            witnesses.append(
                Witness(
                    *two_sample.max_ks_two_sample(
                        two_sample.witness_statistics(problem, params, f),
                        two_sample.witness_statistics(problem, ref_params, g),
                    )
                )
            )
        else:
            checks["reference"] = not_applicable("reference", two_sample.NULL, "no reference sample")
        info.update(num_draws=num, num_probe_points=int(X_probe.shape[0]))
    elif callable(problem):
        target = make_target(problem, *model_args, **model_kwargs)
        params, _ = posterior_params(tree, target.site_shapes)
        checks["membership"] = membership.model_membership_check(target, params)
        for name, null in [
            ("rhat", mixing.RHAT_NULL), ("ess", mixing.ESS_NULL), ("chord", chord.NULL),
            ("orbit", orbit.NULL), ("reference", two_sample.NULL),
        ]:
            checks[name] = not_applicable(name, null, _NEEDS_PROBLEM)
        if reference is not None and not isinstance(reference, str):
            ref_tree = check_tree(reference, "reference")
        info.update(num_draws=int(len(next(iter(params.values())))), reference="none")
    else:
        raise ValueError(f"problem must be a cn.Problem or a NumPyro model, got {type(problem).__name__}")
    checks["volume"] = volume.volume_check([tree, *runs, ref_tree])
    checks["weights"] = weights.weights_check(tree)
    checks = _apply_level(checks, alpha)
    distance, noise = combine(witnesses)
    passed = all(c.passed for c in checks.values() if c.applicable)
    return Report(checks, bool(passed), distance, noise, float(alpha), info)


def _apply_level(checks: dict[str, CheckResult], alpha: float) -> dict[str, CheckResult]:
    """Bonferroni: every applicable p-value check is judged at ``alpha / k``."""
    tested = [n for n, c in checks.items() if c.applicable and math.isfinite(c.p_value)]
    level = alpha / max(len(tested), 1)
    out = dict(checks)
    for name in tested:
        c = checks[name]
        out[name] = dataclasses.replace(c, threshold=level, passed=bool(c.p_value >= level))
    return out
