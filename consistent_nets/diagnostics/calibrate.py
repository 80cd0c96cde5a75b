"""Planted-teacher calibration (simulation-based calibration, Talts et al. 2018).

Draw a teacher ``w* ~ prior``, inputs ``X ~ N(0, I)`` and labels from the teacher:
``y = sign f_{w*}(X)`` (binary margin), ``argmax`` (multiclass) or ``f_{w*}(X) + u`` with
``u ~ Uniform(-eps, eps)`` (tube). With a positive margin ``m`` the teacher is redrawn until
every point has margin ``>= m``. In every case the conditional law of ``w*`` given the data
is the prior restricted to S of its own problem, i.e. ``w*`` is an exact draw from the
target. So if a sampler's draws ``w_1..w_L`` are (nearly independent) exact draws too,
the rank ``#{l : T(w_l) < T(w*)}`` of any statistic ``T`` is uniform on ``0..L``.

Statistics (all invariant under the hidden-unit symmetries): ``depth`` (how far inside
S: ``-max_i slack_i(w)``), ``norm`` (sum of squared weights) and ``probe`` (the first
network output at a random probe point). Each statistic's ranks over the teachers get a
chi-square test on ``num_bins`` bins (exact bin probabilities); the p-values are
combined by Bonferroni and compared with ``alpha``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from .._api import sample
from .._checks import check_int, check_key, check_level
from .._constraints import Constraint, Margin, Tube
from .._nets import MLP
from .._priors import Prior
from .._problem import Problem
from ..datasets import teacher_labels
from .draws import flat_params

__all__ = ["Calibration", "calibrate", "teacher_problem", "STATISTICS"]

STATISTICS = ("depth", "norm", "probe")


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate`.

    Attributes
    ----------
    ranks : dict[str, numpy.ndarray]
        Statistic -> ranks ``(num_teachers,)`` in ``0..num_ranks-1``.
    num_ranks : int
        ``L + 1`` with ``L`` draws per teacher.
    p_values : dict[str, float]
        Chi-square p-value of each statistic's ranks against uniform.
    p_value : float
        Bonferroni-combined p-value.
    passed : bool
        ``p_value >= alpha``.
    alpha : float
    """

    ranks: dict
    num_ranks: int
    p_values: dict
    p_value: float
    passed: bool
    alpha: float

    def __str__(self) -> str:
        lines = [
            f"planted-teacher calibration: {'PASSED' if self.passed else 'FAILED'} "
            f"(p = {self.p_value:.3g}, alpha = {self.alpha:g}, "
            f"{len(next(iter(self.ranks.values())))} teachers, ranks 0..{self.num_ranks - 1})"
        ]
        lines += [f"  {name:6s} p = {p:.3g}" for name, p in self.p_values.items()]
        return "\n".join(lines)


def teacher_problem(net: MLP, prior: Prior, constraint: Constraint, n: int, rng_key, max_tries: int = 1000):
    """``(problem, w_star, probe)``: a planted teacher and the problem it solves exactly."""
    k_x, k_w, k_probe, k_noise = jax.random.split(rng_key, 4)
    X = np.asarray(jax.random.normal(k_x, (n, net.d_in)), dtype=np.float32)
    for attempt in range(max_tries):
        draws = prior.sample(jax.random.fold_in(k_w, attempt), net.param_shapes, 1)
        w_star = {k: np.asarray(v[0]) for k, v in draws.items()}
        y = teacher_labels(net, w_star, X, constraint, k_noise)
        problem = Problem(net, X, y, prior, constraint)
        if bool(constraint.in_set(net.apply(w_star, jnp.asarray(X)), problem.y)):
            probe = np.asarray(jax.random.normal(k_probe, (1, net.d_in)), dtype=np.float32)
            return problem, w_star, probe
    raise ValueError(f"no teacher with margin >= {constraint!r} on {n} points in {max_tries} tries")


@functools.lru_cache(maxsize=16)
def _statistics_fn(net: MLP, constraint: Constraint):
    """One compiled function per (net, constraint): the data are arguments, not constants."""

    def one(p, X, y, probe):
        depth = -jnp.max(constraint.point_slack(net.apply(p, X), y))
        norm = sum(jnp.sum(jnp.square(v)) for v in p.values())
        return depth, norm, net.apply(p, probe)[0, 0]

    return jax.jit(jax.vmap(one, in_axes=(0, None, None, None)))


def _statistics(problem: Problem, params: dict, probe: np.ndarray) -> dict[str, np.ndarray]:
    fn = _statistics_fn(problem.net, problem.constraint)
    values = fn({k: jnp.asarray(v) for k, v in params.items()}, problem.X, problem.y, jnp.asarray(probe))
    return {name: np.asarray(v, dtype=np.float64) for name, v in zip(STATISTICS, values)}


def _rank(draws: np.ndarray, value: float, rng: np.random.Generator) -> int:
    """Rank of ``value`` among ``draws`` with ties broken uniformly at random."""
    below = int(np.sum(draws < value))
    ties = int(np.sum(draws == value))
    return below + int(rng.integers(0, ties + 1))


def _rank_p_value(ranks: np.ndarray, num_ranks: int, num_bins: int) -> float:
    edges = np.linspace(0, num_ranks, num_bins + 1)
    bins = np.clip(np.searchsorted(edges, ranks, side="right") - 1, 0, num_bins - 1)
    observed = np.bincount(bins, minlength=num_bins)
    per_bin = np.diff(np.ceil(edges).astype(int))
    expected = len(ranks) * per_bin / num_ranks
    return float(stats.chisquare(observed, expected).pvalue)


def calibrate(
    net: MLP,
    prior: Prior,
    constraint: Constraint,
    n: int,
    num_teachers: int,
    method="smc",
    rng_key=None,
    num_samples: int = 99,
    num_chains: int = 1,
    num_bins: int | None = None,
    alpha: float = 0.01,
) -> Calibration:
    """Simulation-based calibration of ``method`` on planted-teacher problems.

    Parameters
    ----------
    net, prior, constraint
        The architecture, prior and constraint of every teacher problem.
    n : int
        Training points per teacher (inputs standard normal).
    num_teachers : int
        Number of teachers (independent problems), at least 10.
    method : str or sampler object
        Passed to :func:`consistent_nets.sample`.
    rng_key : jax.random key
        Required.
    num_samples : int
        Draws ``L`` per teacher; ranks are in ``0..L``.
    num_chains : int
    num_bins : int, optional
        Rank-histogram bins (default ``max(2, min(10, num_teachers // 5))``).
    alpha : float

    Returns
    -------
    Calibration

    Examples
    --------
    >>> import jax, consistent_nets as cn
    >>> result = cn.calibrate(cn.MLP([2, 2, 1]), cn.BoxPrior(3.0), cn.Margin(0.0), n=4,
    ...                       num_teachers=10, method="rejection", rng_key=jax.random.key(0),
    ...                       num_samples=19)
    >>> result.ranks["depth"].shape
    (10,)
    """
    if not isinstance(net, MLP):
        raise ValueError(f"net must be a cn.MLP, got {type(net).__name__}")
    if not isinstance(prior, Prior):
        raise ValueError(f"prior must be cn.BoxPrior or cn.NormalPrior, got {prior!r}")
    if not isinstance(constraint, (Margin, Tube)):
        raise ValueError(f"constraint must be cn.Margin or cn.Tube, got {constraint!r}")
    n = check_int("n", n)
    num_teachers = check_int("num_teachers", num_teachers, minimum=10)
    num_samples = check_int("num_samples", num_samples)
    num_bins = max(2, min(10, num_teachers // 5)) if num_bins is None else check_int("num_bins", num_bins, 2)
    alpha = check_level("alpha", alpha)
    rng_key = check_key(rng_key)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(rng_key)).ravel().tolist())
    ranks = {name: [] for name in STATISTICS}
    num_ranks = None
    for i in range(num_teachers):
        k_teacher, k_sample = jax.random.split(jax.random.fold_in(rng_key, i))
        problem, w_star, probe = teacher_problem(net, prior, constraint, n, k_teacher)
        tree = sample(problem, method=method, num_samples=num_samples, num_chains=num_chains,
                      rng_key=k_sample, progress_bar=False)
        params, _ = flat_params(tree, net)
        num = len(next(iter(params.values())))
        if num_ranks is None:
            num_ranks = num + 1
        elif num + 1 != num_ranks:
            raise ValueError(f"method returned {num} draws for teacher {i}, expected {num_ranks - 1}")
        drawn = _statistics(problem, params, probe)
        star = _statistics(problem, {k: v[None] for k, v in w_star.items()}, probe)
        for name in STATISTICS:
            ranks[name].append(_rank(drawn[name], float(star[name][0]), rng))
    ranks = {k: np.asarray(v, dtype=np.int64) for k, v in ranks.items()}
    bins = min(num_bins, num_ranks)
    p_values = {k: _rank_p_value(v, num_ranks, bins) for k, v in ranks.items()}
    p_value = min(1.0, len(p_values) * min(p_values.values()))
    return Calibration(ranks, num_ranks, p_values, p_value, bool(p_value >= alpha), float(alpha))
