"""The chord test: a reference-free, exact test of uniformity on S along random lines.

Let ``w`` have density ``p(w) 1_S(w) / Z`` and draw a direction ``d`` uniformly on the unit
sphere, independently of ``w``. Parametrise the line through ``w`` by ``t -> w + t d``.
For fixed ``d`` the map ``(line, t) -> w`` has unit Jacobian, so *given the line*, ``t`` has
density proportional to ``p(w + t d) 1_S(w + t d)`` at the true position ``t = 0``.
Conditioning further on the connected component ``[a, b]`` of ``{t : w + t d in S}`` that
contains ``0`` keeps the density ``∝ p`` on ``[a, b]``. Hence the *relative chord position*

    U = ∫_a^0 p(w + s d) ds / ∫_a^b p(w + s d) ds

is exactly Uniform(0, 1) for a sample uniform on S, for any S (convex or not). Only
membership along the line and the density along it are needed:

* a ``cn.Problem`` with a box or normal prior: in weight space, where ``∫ p`` is linear
  (box, on the chord of the box) or a normal CDF;
* any model (a :class:`~consistent_nets.extend.Target`): the same argument in NumPyro's
  unconstrained space ``u = T^{-1}(w)``, where the draws have density
  ``pi(u) 1_S(u) / Z`` with ``pi(u) = p(T(u)) |det J_T(u)|`` (the model's log prior with
  its Jacobian, :meth:`Target.log_prior`). The integrals are Gauss-Legendre quadrature
  (64 nodes) of ``pi`` on ``[a, 0]`` and ``[0, b]``. The line is searched out to where
  ``log pi`` has fallen 30 nats below its largest value seen (doubling steps from
  0.01): beyond that a log-concave ``pi`` along the line (uniform, normal, log-normal,
  half-normal, gamma, beta priors in their unconstrained coordinates) carries no mass
  that matters, so the chord ends there if S does not end first.

Samplers that stop at the first point of S they reach (the SGD heuristic) leave draws
next to the boundary of S, so their ``U`` piles up at 0 and 1. By the data-processing
inequality the Kolmogorov distance between the law of ``U`` and Uniform(0, 1) is a lower
bound on the total-variation distance between the draws' law and uniform on S.

A coordinate *on* a face of the box is how float32 rounds one within a float step of it
(NumPyro's logistic map does from about 18 units out: a few times in 1e8 per coordinate,
now and then in the teacher rung's 2000 draws of 1441 weights). Read at face value its
chord has zero length and position exactly 0, which the uniformity test takes as
impossible (p ~ 1e-14 from one draw). In weight space it is moved one float step inside
the box (the small positive position an exact draw that close has; the SGD heuristic's
draws clipped to a face still pile up at 0 and 1). In unconstrained space (a model's
sites) such a value has an infinite coordinate: it is moved the fewest float steps (at
most 8) toward the support's centre (the site's transform at 0) that make it finite.
Only such values move: one outside the support (NaN, a sampler's bug) is not pulled in
and reads position 0. The check's detail counts the moved draws.

The component ends are found by stepping out on ``num_grid`` points to the end of the
line's range, then bisecting: gaps in S narrower than one grid step are not seen, an
approximation controlled by ``num_grid``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from arviz_stats.base import array_stats
from jax.flatten_util import ravel_pytree
from jax.scipy.special import logsumexp, ndtr
from numpyro.infer.util import transform_fn
from scipy import stats

from .._priors import BoxPrior, NormalPrior
from .._problem import Problem
from .report import CheckResult, not_applicable

__all__ = ["chord_positions", "chord_check", "NULL"]

NULL = "the relative position of each draw on a random chord of S is Uniform(0, 1)"

#: how far below its largest value the log density along a line counts as no mass
DROP = 30.0
NUM_BISECT = 30  #: bisection steps for each end of a chord
_NODES, _WEIGHTS = (np.asarray(a, dtype=np.float32) for a in np.polynomial.legendre.leggauss(64))


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


def _component_end(in_set_at, limit, fractions, num_bisect: int):
    """The end of S's component along ``t`` from 0 towards ``limit`` (``limit`` if none).

    ``in_set_at(t)`` tests one point; the first grid point ``fractions * limit`` outside S
    is bracketed and the end bisected.
    """
    ts = fractions * limit
    outside = ~jax.vmap(in_set_at)(ts)
    k = jnp.argmax(outside)
    t_in = jnp.where(k == 0, 0.0, ts[jnp.maximum(k - 1, 0)])

    def halve(_, bracket):
        inner, outer = bracket
        mid = 0.5 * (inner + outer)
        ok = in_set_at(mid)
        return jnp.where(ok, mid, inner), jnp.where(ok, outer, mid)

    inner, outer = jax.lax.fori_loop(0, num_bisect, halve, (t_in, ts[k]))
    return jnp.where(jnp.any(outside), 0.5 * (inner + outer), limit)


def _directions(rng_key, num: int, dim: int, dtype):
    d = jax.random.normal(rng_key, (num, dim), dtype=dtype)
    return d / jnp.linalg.norm(d, axis=1, keepdims=True)


def chord_positions(source, params: dict, rng_key, num_grid: int = 256, num_bisect: int = NUM_BISECT):
    """Relative chord positions ``U`` of flattened draws.

    Parameters
    ----------
    source : Problem or Target
        A ``Problem`` with a ``BoxPrior`` or ``NormalPrior`` (weight space, closed-form
        prior mass along the line), or a :class:`~consistent_nets.extend.Target`
        (unconstrained space, quadrature of the model's own density).
    params : dict
        Latent sites with a leading draw axis ``(N, ...)``, constrained values.
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
    return _positions(source, params, rng_key, num_grid, num_bisect)[0]


def _positions(source, params: dict, rng_key, num_grid: int, num_bisect: int) -> tuple[np.ndarray, int]:
    """:func:`chord_positions`, and how many draws were read inside a face or edge (module notes)."""
    if isinstance(source, Problem):
        if not isinstance(source.prior, (BoxPrior, NormalPrior)):
            raise ValueError(f"problem.prior must be a BoxPrior or NormalPrior, got {source.prior!r}")
        flat = jax.vmap(lambda p: ravel_pytree(p)[0])({k: jnp.asarray(params[k]) for k in source.net.param_shapes})
        floats_per_draw = 2 * num_grid * source.num_data * sum(source.net.sizes)
        batch = max(1, min(flat.shape[0], 2**24 // floats_per_draw))
        run = _positions_fn(source.net, source.constraint, source.prior, num_grid, num_bisect, batch)
        d = _directions(rng_key, *flat.shape, flat.dtype)
        return np.asarray(run(flat, d, source.X, source.y), dtype=np.float64), _draws_on_a_face(source, params)
    u, moved = _off_the_edges(source, params)
    run = source.jit(lambda t: _unconstrained_positions(t, num_grid, num_bisect), ("chord", num_grid, num_bisect))
    return np.asarray(run(u, _directions(rng_key, *u.shape, u.dtype)), dtype=np.float64), moved


def _off_the_edges(target, params: dict, max_steps: int = 8) -> tuple[jax.Array, int]:
    """A model's draws in unconstrained space, a value on the edge of its support moved float steps
    toward the support's centre until its coordinate is finite (module notes); and how many moved."""
    params = {k: np.asarray(params[k]) for k in target.site_shapes}
    unconstrain = target.jit(lambda t: jax.vmap(t.unconstrain), ("unconstrain-draws",))
    u = unconstrain(params)
    if not np.isinf(np.asarray(u)).any():  # the usual case: nothing on an edge
        return u, 0
    invert = target.jit(lambda t: jax.vmap(lambda p: transform_fn(t.transforms, p, invert=True)), ("invert-draws",))
    z = {k: np.asarray(v) for k, v in invert(params).items()}
    moved = np.zeros(next(iter(params.values())).shape[0], dtype=bool)
    centre = transform_fn(target.transforms, {k: jnp.zeros_like(v[0]) for k, v in z.items()})
    for _ in range(max_steps):
        edge = {k: np.isinf(v) for k, v in z.items()}
        if not any(e.any() for e in edge.values()):
            break
        for k, e in edge.items():
            w = params[k]
            # an elementwise transform: the edge's own coordinates; else the draw's whole site
            at = e if e.shape == w.shape else np.broadcast_to(
                e.reshape(e.shape[0], -1).any(axis=1).reshape((-1,) + (1,) * (w.ndim - 1)), w.shape)
            if at.any():
                toward = np.broadcast_to(np.asarray(centre[k], w.dtype), w.shape)
                params[k] = np.where(at, np.nextafter(w, toward), w)
                moved |= at.reshape(at.shape[0], -1).any(axis=1)
        z = {k: np.asarray(v) for k, v in invert(params).items()}
    return unconstrain(params), int(moved.sum())


@functools.lru_cache(maxsize=16)
def _positions_fn(net, constraint, prior, num_grid: int, num_bisect: int, batch: int):
    """One compiled chord search per configuration; the data are arguments."""
    shapes = net.param_shapes
    _, unravel = ravel_pytree({k: jnp.zeros(s) for k, s in shapes.items()})
    fractions = jnp.arange(1, num_grid + 1, dtype=jnp.float32) / num_grid

    def positions(flat, d, X, y):
        if isinstance(prior, BoxPrior):  # a face is a rounding of a point a float step inside
            face = jnp.asarray(prior.a, flat.dtype)
            inner = jnp.nextafter(face, jnp.zeros((), flat.dtype))
            flat = jnp.where(jnp.abs(flat) == face, jnp.sign(flat) * inner, flat)  # only on a face

        def one(args):
            v, direction = args
            lo, hi, cdf = _line_range(prior, v, direction)

            def in_set_at(t):
                return constraint.in_set(net.apply(unravel(v + t * direction), X), y)

            a = _component_end(in_set_at, lo, fractions, num_bisect)
            b = _component_end(in_set_at, hi, fractions, num_bisect)
            f_a, f_b = cdf(a), cdf(b)
            u = (cdf(jnp.zeros_like(a)) - f_a) / (f_b - f_a)
            # ``v`` itself counts as in S (the membership check tests that separately): a
            # draw on the boundary up to rounding must count, not be dropped. A chord of
            # zero prior mass (both ends found at the draw, up to rounding) is position 0:
            # at the boundary.
            return jnp.where(f_b > f_a, u, 0.0)

        return jax.lax.map(one, (flat, d), batch_size=batch)

    return jax.jit(positions)


def _unconstrained_positions(target, num_grid: int, num_bisect: int, num_doublings: int = 40):
    """The chord search in unconstrained space with the model's log density (see above)."""
    fractions = jnp.arange(1, num_grid + 1, dtype=jnp.float32) / num_grid
    steps = 0.01 * 2.0 ** jnp.arange(num_doublings, dtype=jnp.float32)

    def one(args):
        u, d = args
        finite = jnp.all(jnp.isfinite(u))
        u = jnp.where(finite, u, 0.0)

        def log_pi(t):
            return target.log_prior(u + t * d)

        def in_set_at(t):
            return target.in_set(u + t * d)

        def reach(sign):
            # the first doubling step where log pi is DROP below its running maximum
            values = jax.vmap(log_pi)(sign * steps)
            best = jnp.maximum(jax.lax.cummax(values), log_pi(0.0))
            beyond = ~(values >= best - DROP)
            return sign * steps[jnp.where(jnp.any(beyond), jnp.argmax(beyond), num_doublings - 1)]

        a = _component_end(in_set_at, reach(-1.0), fractions, num_bisect)
        b = _component_end(in_set_at, reach(1.0), fractions, num_bisect)

        def log_mass(lo, hi):  # log ∫_lo^hi pi by Gauss-Legendre
            half = 0.5 * (hi - lo)
            values = jax.vmap(log_pi)(lo + half * (_NODES + 1.0))
            return logsumexp(values, b=_WEIGHTS) + jnp.log(half)

        left, right = log_mass(a, 0.0), log_mass(0.0, b)
        position = jax.nn.sigmoid(left - right)  # mass left / (mass left + mass right)
        return jnp.where(finite & (b > a), jnp.nan_to_num(position, nan=0.0), 0.0)

    def positions(u, d):
        return jax.lax.map(one, (u, d), batch_size=max(1, min(u.shape[0], 16)))

    return positions


def chord_check(source, params: dict, rng_key, num_grid: int = 256) -> tuple[CheckResult, np.ndarray]:
    """Uniformity test of the relative chord positions (ArviZ's ``pot_c`` PIT test).

    ``source`` is a ``Problem`` (weight space, box or normal prior) or a ``Target``
    (unconstrained space, any prior); see :func:`chord_positions`. The statistic is the
    Kolmogorov distance ``sup_u |F_n(u) - u|`` of the positions; the p-value is from
    :func:`arviz_stats.base.array_stats.uniformity_test` (pointwise order-statistic
    tests combined by the Cauchy method, sensitive to pile-ups at the ends). ``passed``
    is provisional until the report applies its corrected level.
    """
    if isinstance(source, Problem) and not isinstance(source.prior, (BoxPrior, NormalPrior)):
        return not_applicable("chord", NULL, f"needs a box or normal prior, got {source.prior!r}"), np.zeros(0)
    u, moved = _positions(source, params, rng_key, num_grid, NUM_BISECT)
    u = u[np.isfinite(u)]
    if u.size < 20:
        return not_applicable("chord", NULL, f"only {u.size} draws in S (need >= 20)"), u
    p_value = float(np.asarray(array_stats.uniformity_test(np.clip(u, 0.0, 1.0))[0]))
    ks = float(stats.kstest(u, "uniform").statistic)
    space = "weight space" if isinstance(source, Problem) else "unconstrained space"
    detail = f"Kolmogorov distance of {u.size} chord positions ({space}) to Uniform(0, 1)"
    if moved and isinstance(source, Problem):
        detail += f"; {moved} draw(s) with a weight on a face of the box, read one float step inside"
    elif moved:
        detail += (f"; {moved} draw(s) with a value on the edge of its support, read the fewest "
                   "float steps inside that give a finite unconstrained coordinate")
    return CheckResult("chord", ks, p_value, float("nan"), True, NULL, detail), u


def _draws_on_a_face(source, params: dict) -> int:
    """Draws with a weight exactly on a face of a ``Problem``'s box (see the module's notes)."""
    if not isinstance(source.prior, BoxPrior):
        return 0
    on = []
    for k in source.net.param_shapes:
        v = np.abs(np.asarray(params[k]))
        on.append(np.any(v.reshape(v.shape[0], -1) == np.asarray(source.prior.a, v.dtype), axis=1))
    return int(np.sum(np.any(on, axis=0)))
