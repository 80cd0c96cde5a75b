"""Two-sided bounds on log vol(S) for planted problems: bidirectional Monte Carlo.

Forward SMC's estimate ``log Ẑ`` is a *stochastic lower bound*: ``Ẑ`` is unbiased for
``Z = vol(S)``, so by Jensen ``E[log Ẑ] <= log Z``, with a gap that grows where the
sampler misses mass. For a planted problem — a teacher ``w*`` drawn from the prior,
labels from its outputs — ``w*`` is an *exact* draw from the prior restricted to S
(see :func:`consistent_nets.calibrate`), and annealed importance sampling run in
reverse from it gives a *stochastic upper bound* (Grosse, Ghahramani & Adams 2015).
The reverse run starts at ``x = w*`` at the top of a β-path ``b_K > ... > b_1 > b_0 = 0``
(the forward run's own stages, refined, and continued geometrically from its last beta
up to ``beta_max``), moves with NUTS kernels that leave each tempered density
``f_k = p(w) exp(-b_k g(w))`` invariant (fixed step size and diagonal mass: those the
forward run adapted), and accumulates

    log W = sum_k (b_k - b_{k-1}) g(x_k)      (x_k: the state after the moves at b_k).

Started from an exact draw of ``pi_{b_K} ∝ f_K``, ``E[W] = 1 / Z_{b_K}``. ``w*`` is an
exact draw of ``pi_{b_K}`` restricted to S, which misses the band of ``pi_{b_K}`` just
outside S; writing ``pi_{b_K} = (1 - e) pi_S + e nu`` gives
``E_{pi_S}[W] = 1/Z - (e Z_{b_K} / Z) E_nu[W] <= 1 / vol(S)`` (``W >= 0``), so still
``E[-log W] >= log vol(S)``, tighter the larger ``b_K`` (the band shrinks like
``b_K^{-1/2}``). The reverse chains start at ``w*`` and at random
symmetric copies of it (the same function: also exact draws from the restricted prior).
Both directions are pooled as ``log mean exp``: the forward over populations, the
reverse over chains (each still a bound in expectation). The gap ``upper - lower``
bounds the error of both estimates together: a small gap certifies the volume, a large
one says the path is too coarse or the moves too short for either to be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import blackjax
import jax
import jax.numpy as jnp
import numpy as np

from ._api import resolve_method
from ._checks import check_int, check_key, check_split
from ._postprocess import user_tree
from ._problem import Problem
from ._target import make_target
from .samplers.driver import run
from .samplers.population import log_volume_from_chains
from .symmetry import symmetrize_params

__all__ = ["LogVolumeBounds", "bound_log_volume"]


@dataclass(frozen=True)
class LogVolumeBounds:
    """Stochastic lower and upper bounds on log vol(S) and their standard errors.

    Attributes
    ----------
    lower, lower_se : float
        Forward SMC's pooled ``log Ẑ`` (``E[lower] <= log vol(S)``) and its SE.
    upper, upper_se : float
        Reverse annealing's pooled ``-log W`` (``E[upper] >= log vol(S)``) and its SE.
    reverse_log_weights : numpy.ndarray
        ``log W`` of every reverse chain.
    tree : xarray.DataTree
        The forward run (its draws, ``attrs["log_volume"] == lower``).
    """

    lower: float
    lower_se: float
    upper: float
    upper_se: float
    reverse_log_weights: np.ndarray
    tree: object

    @property
    def gap(self) -> float:
        """``upper - lower``: how far apart the two directions are."""
        return self.upper - self.lower

    def __str__(self) -> str:
        return (
            f"log vol(S) in [{self.lower:.3f} ± {self.lower_se:.3f}, {self.upper:.3f} ± {self.upper_se:.3f}] "
            f"(gap {self.gap:.3f}; forward SMC and {self.reverse_log_weights.size} reverse chains)"
        )


def bound_log_volume(
    problem: Problem,
    w_star: dict,
    *,
    rng_key,
    method="smc",
    num_samples: int = 2000,
    num_chains: int = 4,
    num_reverse: int = 16,
    reverse_steps: int = 5,
    refine: int = 10,
) -> LogVolumeBounds:
    """Sandwich log vol(S) between forward SMC and annealing in reverse from the teacher.

    Parameters
    ----------
    problem : Problem
        A planted problem: its labels are the outputs of ``w_star``.
    w_star : dict
        The teacher's weights (``cn.datasets.teacher`` returns them); it must lie in S
        and inside the prior's support (not on a box's edge, where the reverse run
        cannot start).
    rng_key : jax.random key
    method : "smc" or cn.SMC
        The forward sampler (its β-path is retraced in reverse).
    num_samples, num_chains : int
        Forward SMC's size (as in :func:`consistent_nets.sample`).
    num_reverse : int
        Reverse chains: ``w_star`` and ``num_reverse - 1`` random symmetric copies.
    reverse_steps : int
        NUTS steps per β on the way down.
    refine : int
        β values per forward stage on the way down: the reverse path interpolates
        ``refine`` geometric steps between consecutive forward betas (linear from 0 to
        the first), each with the step size and mass of the forward stage above it. The
        reverse bound tightens as the path gets finer.

    Returns
    -------
    LogVolumeBounds

    Examples
    --------
    >>> import jax, consistent_nets as cn
    >>> net = cn.MLP([2, 2, 1])
    >>> X, y, w_star = cn.datasets.teacher(net, n=6, seed=1)
    >>> problem = cn.Problem(net, X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
    >>> bounds = cn.bound_log_volume(problem, w_star, rng_key=jax.random.key(0),
    ...                              num_samples=200, num_reverse=8)
    >>> bounds.lower <= bounds.upper + 4 * (bounds.lower_se**2 + bounds.upper_se**2) ** 0.5
    True
    """
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a cn.Problem (a planted one), got {type(problem).__name__}")
    sampler = resolve_method(method)
    if sampler.name != "smc":
        raise ValueError(f"method must be 'smc' (its path is run in reverse), got {sampler.name!r}")
    rng_key = check_key(rng_key)
    num_reverse = check_int("num_reverse", num_reverse)
    reverse_steps = check_int("reverse_steps", reverse_steps)
    refine = check_int("refine", refine)
    num_samples, num_chains = check_split(num_samples, num_chains, sampler)
    sampler.check_sizes(num_samples, num_chains)
    missing = set(problem.net.param_shapes) - set(w_star or {})
    if missing:
        raise ValueError(f"w_star lacks the weights {sorted(missing)} of {problem.net!r}")
    w_star = {k: jnp.asarray(w_star[k], jnp.float32).reshape(s) for k, s in problem.net.param_shapes.items()}
    if not bool(problem.constraint.in_set(problem.net.apply(w_star, problem.X), problem.y)):
        raise ValueError("w_star must lie in S: its outputs must meet the constraint on the data")
    k_forward, k_copies, k_reverse = jax.random.split(rng_key, 3)
    target = make_target(problem)
    u_star = target.unravel(target.unconstrain(w_star))
    outside = sorted(k for k, v in u_star.items() if not bool(jnp.all(jnp.isfinite(v))))
    if outside:
        raise ValueError(
            f"w_star must lie inside the prior's support, where the reverse run starts: weights of {outside} sit "
            "on its boundary or outside it (an infinite or undefined unconstrained coordinate)"
        )
    result = run(sampler, target, k_forward, num_samples, num_chains, False)
    if not any(bool(np.any(np.asarray(active))) for *_, active in result.schedule):
        raise ValueError(
            f"method: no population needed a tempering stage (min_fraction_in_set={sampler.min_fraction_in_set} "
            "of every population's prior draws already lie in S), so there is no path to run in reverse; "
            "the forward log volume is a direct prior fraction. Raise min_fraction_in_set to temper"
        )
    betas, step_sizes, masses = _path(result.schedule, refine, sampler.beta_max)
    copies = {k: np.repeat(np.asarray(v)[None, None], num_reverse, axis=1) for k, v in w_star.items()}
    copies = symmetrize_params(copies, problem.net, k_copies)
    start = {k: v[0].copy() for k, v in copies.items()}
    for k in start:
        start[k][0] = np.asarray(w_star[k])  # the teacher itself, then its copies
    u0 = jax.vmap(target.unconstrain)({k: jnp.asarray(v) for k, v in start.items()})
    log_w = _reverse(target, u0, k_reverse, betas, step_sizes, masses, reverse_steps)
    log_w = np.asarray(log_w, dtype=np.float64)
    neg_mean, neg_se = log_volume_from_chains(log_w)  # log mean W and its SE
    tree = user_tree(result, target, k_forward, True)
    return LogVolumeBounds(result.log_volume, result.log_volume_se, float(-neg_mean), float(neg_se), log_w, tree)


def _path(schedule, refine: int, beta_top: float):
    """The tempering stages of the first population that had any (population 0 has none
    when its prior draws already met ``min_fraction_in_set``), each refined into ``refine``
    betas below it, and on from its last beta up to ``beta_top`` with ``refine`` betas a
    decade."""
    c = next(c for c in range(np.asarray(schedule[0][3]).size) if any(bool(np.asarray(s[3])[c]) for s in schedule))
    betas, steps, masses = [], [], []
    below = 0.0
    for beta, step_size, mass, active in schedule:
        if not bool(np.asarray(active)[c]):
            continue
        top = float(np.asarray(beta)[c])
        if below > 0:
            grid = np.geomspace(below, top, refine + 1)[1:]
        else:
            grid = np.linspace(0.0, top, refine + 1)[1:]
        betas.extend(grid.tolist())
        steps.extend([float(np.asarray(step_size)[c])] * refine)
        masses.extend([np.asarray(mass)[c]] * refine)
        below = top
    if below < beta_top:
        up = np.geomspace(below, beta_top, max(2, int(np.ceil(refine * np.log10(beta_top / below)))) + 1)[1:]
        betas.extend(up.tolist())
        steps.extend([steps[-1]] * up.size)
        masses.extend([masses[-1]] * up.size)
    return np.asarray(betas), np.asarray(steps), np.stack(masses)


def _reverse(target, u0, rng_key, betas, step_sizes, masses, num_steps):
    """``log W`` of reverse AIS for every chain in ``u0`` along the path, top to bottom."""
    kernel = blackjax.nuts.build_kernel()
    lower = np.concatenate([[0.0], betas[:-1]])

    @jax.jit
    def descend(u0, keys, betas, lower, step_sizes, masses):
        def stage(carry, xs):
            u, log_w = carry
            key, beta, below, h, mass = xs
            logdensity = partial(target.tempered_logdensity, beta=beta)
            state = jax.vmap(blackjax.nuts.init, in_axes=(0, None))(u, logdensity)

            def step(state, k):
                new, _ = jax.vmap(lambda s, kk: kernel(kk, s, logdensity, h, mass))(state, jax.random.split(k, u.shape[0]))
                return new, None

            state, _ = jax.lax.scan(step, state, jax.random.split(key, num_steps))
            _, g, _ = jax.vmap(target.terms)(state.position)
            return (state.position, log_w + (beta - below) * g), None

        xs = (keys, betas, lower, step_sizes, masses)
        (_, log_w), _ = jax.lax.scan(stage, (u0, jnp.zeros(u0.shape[0])), xs, reverse=True)
        return log_w

    keys = jax.random.split(rng_key, betas.size)
    return descend(u0, keys, jnp.asarray(betas), jnp.asarray(lower), jnp.asarray(step_sizes), jnp.asarray(masses))
