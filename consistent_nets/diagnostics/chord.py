"""The chord test: a reference-free, exact test of uniformity on S along random lines.

Let ``w`` have density ``p(w) 1_S(w) / Z`` and draw a direction ``d`` uniformly on the unit
sphere, independently of ``w``. Parametrise the line through ``w`` by ``t -> w + t d``.
For fixed ``d`` the map ``(line, t) -> w`` has unit Jacobian, so *given the line*, ``t`` has
density proportional to ``p(w + t d) 1_S(w + t d)`` at the true position ``t = 0``.
Conditioning further on the connected component ``[a, b]`` of ``{t : w + t d in S}`` that
contains ``0`` keeps the density ``∝ p`` on ``[a, b]``. Hence the *relative chord position*

    U = (F(0) - F(a)) / (F(b) - F(a)),     F(t) = ∫^t p(w + s d) ds,

is exactly Uniform(0, 1) for a sample uniform on S, for any S (convex or not). ``F`` is
linear for a box prior (on the chord of the box) and a normal CDF for a normal prior.

Samplers that stop at the first point of S they reach (the SGD heuristic) leave draws
next to the boundary of S, so their ``U`` piles up at 0 and 1. By the data-processing
inequality the Kolmogorov distance between the law of ``U`` and Uniform(0, 1) is a lower
bound on the total-variation distance between the draws' law and uniform on S.

A draw on a face of the box (the SGD heuristic clips to it) has a chord of zero length
and counts as position 0. The component ends are found by stepping out on ``num_grid`` points to the box (or
±8 prior standard deviations), then bisecting: gaps in S narrower than one grid step
are not seen, an approximation controlled by ``num_grid``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from arviz_stats.base import array_stats
from jax.flatten_util import ravel_pytree
from jax.scipy.special import ndtr
from scipy import stats

from .._priors import BoxPrior, NormalPrior
from .report import CheckResult, not_applicable

__all__ = ["chord_positions", "chord_check", "NULL"]

NULL = "the relative position of each draw on a random chord of S is Uniform(0, 1)"


def _line_range(prior, v, d):
    """``(lo, hi, cdf)`` of the prior along ``v + t d``."""
    if isinstance(prior, BoxPrior):
        t1 = (-prior.a - v) / d
        t2 = (prior.a - v) / d
        lo = jnp.max(jnp.minimum(t1, t2))
        hi = jnp.min(jnp.maximum(t1, t2))
        return lo, hi, lambda t: t
    mu, s = -jnp.dot(v, d), prior.s
    lo = jnp.minimum(mu - 8.0 * s, 0.0)
    hi = jnp.maximum(mu + 8.0 * s, 0.0)
    return lo, hi, lambda t: ndtr((t - mu) / s)


def chord_positions(problem, params: dict, rng_key, num_grid: int = 256, num_bisect: int = 30):
    """Relative chord positions ``U`` of flattened draws.

    Parameters
    ----------
    problem : Problem
        With a ``BoxPrior`` or ``NormalPrior``.
    params : dict
        Weight sites with a leading draw axis ``(N, ...)``.
    rng_key : jax.random key
        For the directions.
    num_grid : int
        Step-out points on each side of the draw.
    num_bisect : int
        Bisection steps for each end of the chord.

    Returns
    -------
    numpy.ndarray, shape (N,)
        In ``[0, 1]``; ``0`` where the chord has zero prior mass.
    """
    if not isinstance(problem.prior, (BoxPrior, NormalPrior)):
        raise ValueError(f"problem.prior must be a BoxPrior or NormalPrior, got {problem.prior!r}")
    names = list(problem.net.param_shapes)
    flat = jax.vmap(lambda p: ravel_pytree(p)[0])({k: jnp.asarray(params[k]) for k in names})
    num, dim = flat.shape
    d = jax.random.normal(rng_key, (num, dim), dtype=flat.dtype)
    d = d / jnp.linalg.norm(d, axis=1, keepdims=True)
    floats_per_draw = 2 * num_grid * problem.num_data * sum(problem.net.sizes)
    batch = max(1, min(num, 2**24 // floats_per_draw))
    run = _positions_fn(problem.net, problem.constraint, problem.prior, num_grid, num_bisect, batch)
    return np.asarray(run(flat, d, problem.X, problem.y), dtype=np.float64)


@functools.lru_cache(maxsize=16)
def _positions_fn(net, constraint, prior, num_grid: int, num_bisect: int, batch: int):
    """One compiled chord search per configuration; the data are arguments."""
    shapes = net.param_shapes
    _, unravel = ravel_pytree({k: jnp.zeros(s) for k, s in shapes.items()})
    fractions = jnp.arange(1, num_grid + 1, dtype=jnp.float32) / num_grid

    def positions(flat, d, X, y):
        def in_set(v):
            return constraint.in_set(net.apply(unravel(v), X), y)

        def one(args):
            v, direction = args
            lo, hi, cdf = _line_range(prior, v, direction)
            at = jax.vmap(lambda t: in_set(v + t * direction))

            def end(limit):
                ts = fractions * limit
                outside = ~at(ts)
                k = jnp.argmax(outside)
                t_in = jnp.where(k == 0, 0.0, ts[jnp.maximum(k - 1, 0)])

                def halve(_, bracket):
                    inner, outer = bracket
                    mid = 0.5 * (inner + outer)
                    ok = in_set(v + mid * direction)
                    return jnp.where(ok, mid, inner), jnp.where(ok, outer, mid)

                inner, outer = jax.lax.fori_loop(0, num_bisect, halve, (t_in, ts[k]))
                return jnp.where(jnp.any(outside), 0.5 * (inner + outer), limit)

            a, b = end(lo), end(hi)
            f_a, f_b = cdf(a), cdf(b)
            u = (cdf(jnp.zeros_like(a)) - f_a) / (f_b - f_a)
            # ``v`` itself counts as in S (the membership check tests that separately): a
            # draw on the boundary up to rounding must count, not be dropped. A chord of
            # zero prior mass (the draw on a face of the box, probability 0 for an exact
            # sample) is position 0: at the boundary.
            return jnp.where(f_b > f_a, u, 0.0)

        return jax.lax.map(one, (flat, d), batch_size=batch)

    return jax.jit(positions)


def chord_check(problem, params: dict, rng_key, num_grid: int = 256) -> tuple[CheckResult, np.ndarray]:
    """Uniformity test of the relative chord positions (ArviZ's ``pot_c`` PIT test).

    The statistic is the Kolmogorov distance ``sup_u |F_n(u) - u|`` of the positions;
    the p-value is from :func:`arviz_stats.base.array_stats.uniformity_test` (pointwise
    order-statistic tests combined by the Cauchy method, sensitive to pile-ups at the
    ends). ``passed`` is provisional until the report applies its corrected level.
    """
    if not isinstance(problem.prior, (BoxPrior, NormalPrior)):
        return not_applicable("chord", NULL, f"needs a box or normal prior, got {problem.prior!r}"), np.zeros(0)
    u = chord_positions(problem, params, rng_key, num_grid=num_grid)
    u = u[np.isfinite(u)]
    if u.size < 20:
        return not_applicable("chord", NULL, f"only {u.size} draws in S (need >= 20)"), u
    p_value = float(np.asarray(array_stats.uniformity_test(np.clip(u, 0.0, 1.0))[0]))
    ks = float(stats.kstest(u, "uniform").statistic)
    detail = f"Kolmogorov distance of {u.size} chord positions to Uniform(0, 1)"
    return CheckResult("chord", ks, p_value, float("nan"), True, NULL, detail), u
