"""``diagnose``: run every check on a sample and gather them into a ``Report``."""

from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np

from .._checks import check_int, check_level
from .._compile import prepare
from .._priors import BoxPrior, NormalPrior
from ..samplers.effective import effective_draws
from . import advice, blocks, chord, membership, mixing, orbit, populations, two_sample, volume, weights
from .distance import Witness, combine
from .draws import (
    Subject, check_key, check_tree, depth_features, fit, flat_params, probe_outputs, subject_of, subsample,
)
from .reference import resolve_reference
from .report import CheckResult, Report, not_applicable

__all__ = ["diagnose"]

#: the checks without which no verdict is possible: reference-free uniformity and mixing
CORE = ("chord", "rhat", "ess")


def diagnose(
    tree,
    problem,
    *model_args,
    reference=None,
    rng_key=None,
    runs=(),
    alpha: float = 0.01,
    num_probes: int = 32,
    max_draws: int = 1000,
    probes=None,
    **model_kwargs,
) -> Report:
    """How far is a sample from uniform on S? Every check, a verdict and one distance.

    Checks (each states its null in ``report.checks[name].null``):

    ``membership``
        Fraction of draws in S, recomputed from the weights by the model's consistency
        sites (threshold 1).
    ``rhat``, ``ess``
        Rank-normalised R-hat (< 1.01, raised for short chains to its 99.9 % quantile
        for independent draws) of the independent draws, and effective draws (>= min(400,
        N/4) for N rows) of the outputs the consistency sites constrain (the network at
        the training inputs) and at the probes (a ``Problem``: ``num_probes`` uniform
        points in the data's bounding box widened by 10 %; a model: ``cn.predict`` at the
        arguments in ``probes``).
    ``populations``
        Mode weights: each chain (SMC population, MCMC chain) against the rest, chi-square
        of the proportions in the pooled sample's function-space clusters and KS of the
        outputs at each probe (see :mod:`consistent_nets.diagnostics.populations`; a bias
        all chains share needs a reference to be seen).
    ``chord``
        Reference-free and exact: the relative position of each draw on a random chord
        of S is Uniform(0, 1) (see :mod:`consistent_nets.diagnostics.chord`: weight
        space for a box or normal ``Problem``, the model's unconstrained space and own
        density otherwise). It flags samplers that stop at the boundary of S, such as
        the SGD heuristic.
    ``orbit``
        Chi-square test that the symmetry element mapping each draw to canonical form
        is uniform on the hidden-unit group: a ``Problem``'s network, or the ``net``
        a model declares in ``cn.consistent(..., net=...)``; not run otherwise, nor on
        draws ``cn.sample`` symmetrized (``tree.attrs["symmetrized"]``: orbit-uniform by
        construction, so the test could only false-alarm).
    ``volume``
        Welch's test that the log-volume estimates of ``tree``, ``runs`` and the
        reference agree within their SEs, counting each SE's degrees of freedom
        (``attrs["log_volume_se_dof"]``); not applicable with fewer than two.
    ``weights``
        PSIS Pareto k-hat of importance weights ``log_weights (chain, draw)`` for samples
        whose draws carry them; the library's samplers return unweighted draws, so it is
        not applicable to them.
    ``reference``
        Two-sample test against every draw of the reference sample on the function-space
        features (sorted training depths, outputs at the probe points): energy distance
        (permutation p-value) and per-feature KS, Bonferroni-combined; not applicable
        without a reference.

    Dependent draws: the p-value checks assume independent draws, so they use one draw
    per block of dependent draws — SMC particles sharing an ancestor, autocorrelated
    MCMC draws (:mod:`consistent_nets.diagnostics.blocks`); ``report.info`` says how many.

    Verdict (``report.verdict``): ``"failed"`` when an applicable check fails, p-value
    checks at level ``alpha / k`` with ``k`` the number of applicable p-value checks
    (Bonferroni: an exact uniform sample fails with probability at most ``alpha`` from
    them) and threshold checks at their thresholds; ``"inconclusive"`` when none failed
    but a core check (chord, R-hat, ESS) did not run or no distance could be estimated
    (``report.inconclusive`` says why); ``"passed"`` otherwise, and only then is
    ``report.passed`` true. Other not-applicable checks do not count.

    ``distance``: the largest empirical Kolmogorov distance between the law of a
    witness statistic under the draws and under uniform on S: the chord position, and
    with a reference the depth in S and the norm of the probe outputs (two-sample). By data processing this estimates a lower
    bound on the total-variation distance between the draws' law and uniform on S; it is
    in ``[0, 1]``, and ``distance_noise`` is its 95 % quantile for an exact sample.

    Parameters
    ----------
    tree : xarray.DataTree
        From :func:`consistent_nets.sample` (``posterior`` with the weight sites).
    problem : Problem, callable or None
        The problem sampled, or the NumPyro model with its ``*model_args,
        **model_kwargs`` (every check the model allows). ``None``: only the checks that
        need the tree alone (volume, weights); the verdict is then inconclusive.
    reference : None, DataTree, "rejection" or "auto"
        A reference sample from uniform on S, or ``"rejection"`` to draw one now
        (``max(N, 2000)`` exact draws, at most 4000, within ``2**22`` prior draws; ``ValueError`` when
        the tree's ``log_volume`` says that is not enough), or ``"auto"``: rejection when
        it fits that budget, none otherwise. With ``None`` the verdict rests on the
        reference-free checks (chord, mixing, populations, membership, and orbit where
        it runs), which work at any
        problem size: the chord test costs about ``max_draws * (2 * 256 + 60)`` network
        evaluations on the training data, and on XOR it alone fails the SGD heuristic.
    rng_key : jax.random key
        Required: probe points, subsampling, chord directions, permutations, reference.
    runs : sequence of DataTree
        Independent runs of the same problem, for the ``volume`` check.
    alpha : float
        Family-wise level, in (0, 0.5].
    num_probes : int
        Random probe points besides the training inputs (a ``Problem``).
    probes : array or tuple, optional
        A ``Problem``: probe inputs ``(m, d_in)`` in place of the random ones. A model:
        the model's arguments without labels at which ``cn.predict`` gives the probe
        outputs, e.g. ``(X_probe,)``.
    max_draws : int
        Draws used by the chord check (a random subset of the independent draws when
        more).

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
    names = ["probe", "sub", "chord", "ref", "perm", "thin", "refthin", "clusters"]
    keys = dict(zip(names, jax.random.split(rng_key, len(names))))
    if problem is None:
        if reference is not None and not isinstance(reference, str):
            check_tree(reference, "reference")
        checks, witnesses, info = _without_a_model(tree), [], {"reference": "none"}
        ref_tree = None
    else:
        subject = subject_of(problem, model_args, model_kwargs)
        checks, witnesses, info, ref_tree = _model_checks(
            tree, subject, reference, keys, num_probes, max_draws, probes, alpha
        )
    checks["volume"] = volume.volume_check([tree, *runs, ref_tree])
    checks["weights"] = weights.weights_check(tree)
    checks = _apply_level(checks, alpha)
    distance, noise = combine(witnesses)
    failed = [n for n, c in checks.items() if c.passed is False]
    reasons: dict[str, list[str]] = {}  # one reason, said once for every check it stopped
    for n in CORE:
        if not checks[n].applicable:
            reasons.setdefault(checks[n].detail, []).append(n)
    inconclusive = ""
    if not failed and reasons:
        inconclusive = "core checks did not run: " + "; ".join(f"{', '.join(n)} ({why})" for why, n in reasons.items())
    elif not failed and not math.isfinite(distance):
        inconclusive = "no distance could be estimated"
    passed = not failed and not inconclusive
    what = advice.advise(checks, tree.attrs, int(info.get("num_chains", 0)), int(info.get("num_draws", 0)))
    return Report(checks, bool(passed), distance, noise, float(alpha), info, inconclusive, what)


def _without_a_model(tree) -> dict[str, CheckResult]:
    why = "needs the problem or model the tree was drawn for"
    nulls = dict(membership=membership.NULL, rhat=mixing.RHAT_NULL, ess=mixing.ESS_NULL, populations=populations.NULL,
                 chord=chord.NULL, orbit=orbit.NULL, reference=two_sample.NULL)
    return {name: not_applicable(name, null, why) for name, null in nulls.items()}


def _model_checks(tree, subject: Subject, reference, keys, num_probes, max_draws, probes, alpha):
    """Every check the problem or model allows: ``(checks, witnesses, info, reference tree)``."""
    params, (num_chains, num_draws) = flat_params(tree, subject)
    num = num_chains * num_draws
    found = fit(subject, params)
    max_slack = np.max(found.slack, axis=1)
    checks: dict[str, CheckResult] = {"membership": membership.membership_check(max_slack)}
    f_probe, probe_note = probe_outputs(subject, tree, keys["probe"], num_probes, probes)
    f = np.concatenate([found.outputs, f_probe], axis=1)
    # one draw per block of dependent draws (SMC siblings, autocorrelated MCMC draws)
    block_ids, how = blocks.dependence_blocks(tree, f.reshape(num_chains, num_draws, -1))
    keep = blocks.thin(keys["thin"], block_ids)
    chain = keep // num_draws
    kept = {k: v[keep] for k, v in params.items()}
    checks["rhat"] = mixing.rhat_check(_per_chain(f[keep], chain))
    ess, _, _ = effective_draws(f.reshape(num_chains, num_draws, -1), *_structure(how, block_ids))
    checks["ess"] = mixing.ess_check(ess, num, how)
    checks["populations"] = populations.populations_check(
        f[keep], chain, int(jax.random.randint(keys["clusters"], (), 0, 2**31 - 1)),
        marginals=f_probe[keep] if f_probe.shape[1] else None)
    idx = subsample(keys["sub"], keep.size, max_draws)
    source = subject.problem if _closed_form_chord(subject.problem) else subject.target
    checks["chord"], positions = chord.chord_check(source, {k: v[idx] for k, v in kept.items()}, keys["chord"])
    witnesses = []
    if checks["chord"].applicable:
        witnesses.append(Witness(checks["chord"].statistic, 1, positions.size))
    checks["orbit"] = _orbit(subject, kept, bool(tree.attrs.get("symmetrized", 0)))
    ref_tree, note = resolve_reference(reference, tree, subject, keys["ref"], num)
    if ref_tree is not None:
        ref_params, (ref_chains, ref_draws) = flat_params(ref_tree, subject)
        ref_found = fit(subject, ref_params)
        g_probe, _ = probe_outputs(subject, ref_tree, keys["probe"], num_probes, probes)
        g = np.concatenate([ref_found.outputs, g_probe], axis=1)
        ref_blocks, _ = blocks.dependence_blocks(ref_tree, g.reshape(ref_chains, ref_draws, -1))
        ref_keep = blocks.thin(keys["refthin"], ref_blocks)
        x = depth_features(found, f_probe)[keep]
        y = depth_features(ref_found, g_probe)[ref_keep]
        # the smallest permutation p-value, 1 / (B + 1), must sit well below the
        # Bonferroni level alpha / 5 (at most five p-value checks)
        num_permutations = int(math.ceil(20 / alpha)) - 1
        checks["reference"] = two_sample.reference_check(x, y, keys["perm"], num_permutations)
        mine = two_sample.witness_statistics(max_slack[keep], f[keep])
        theirs = two_sample.witness_statistics(np.max(ref_found.slack, axis=1)[ref_keep], g[ref_keep])
        witnesses.append(Witness(*two_sample.max_ks_two_sample(mine, theirs)))
    else:
        checks["reference"] = not_applicable("reference", two_sample.NULL, "no reference sample")
    info = {
        "reference": note,
        "num_chains": num_chains,
        "num_draws": num,
        "num_independent_draws": int(keep.size),
        "dependence": blocks.describe(block_ids, how),
        "num_probe_outputs": int(f.shape[1]),
        "probes": probe_note,
    }
    return checks, witnesses, info, ref_tree


def _closed_form_chord(problem) -> bool:
    return problem is not None and isinstance(problem.prior, (BoxPrior, NormalPrior))


def _orbit(subject: Subject, params, symmetrized: bool) -> CheckResult:
    if subject.target.symmetry is None:
        why = "no symmetry declared: pass net= (and sites=) to cn.consistent to run it"
        return not_applicable("orbit", orbit.NULL, why)
    if symmetrized:  # each draw got an independent uniform group element: exact, and untestable
        why = "draws symmetrized by cn.sample are orbit-uniform by construction; symmetrize=False tests the sampler"
        return not_applicable("orbit", orbit.NULL, why)
    net, sites = subject.target.symmetry
    mapped = {param: params[site] for param, site in sites if site in params}
    bad = [p for p, s in sites if s not in params or mapped[p].shape[1:] != tuple(net.param_shapes[p])]
    if bad:
        why = f"the declared net's sites {bad} are not latent sites of the shapes {net!r} needs"
        return not_applicable("orbit", orbit.NULL, why)
    return orbit.orbit_check(net, mapped)[0]


def _apply_level(checks: dict[str, CheckResult], alpha: float) -> dict[str, CheckResult]:
    """Bonferroni: every applicable p-value check is judged at ``alpha / k``."""
    tested = [n for n, c in checks.items() if c.applicable and math.isfinite(c.p_value)]
    level = alpha / max(len(tested), 1)
    out = dict(checks)
    for name in tested:
        c = checks[name]
        out[name] = dataclasses.replace(c, threshold=level, passed=bool(c.p_value >= level))
    return out


def _per_chain(f: np.ndarray, chain: np.ndarray) -> np.ndarray:
    """Rows of ``f`` grouped by chain, each chain cut to the shortest: ``(chain, draw, K)``."""
    groups = [f[chain == c] for c in np.unique(chain)]
    length = min(len(g) for g in groups)
    return np.stack([g[:length] for g in groups])


def _structure(how: str, block_ids: np.ndarray) -> tuple[str, np.ndarray | None]:
    """``(structure, groups)`` for :func:`effective_draws` from ``how`` (e.g. "lineage, copies merged")."""
    base = how.split(",")[0]
    if base == "lineage":
        return "lineage", block_ids
    return ("independent", None) if base == "independent" else ("chains", None)
