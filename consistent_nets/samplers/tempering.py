"""Pure-JAX pieces of tempering: the next inverse temperature, weights, resampling.

Everything here works on one population (``(num_particles, dim)`` positions, or
``(num_particles,)`` penalties and log weights); the samplers ``vmap`` it over
independent populations. ``axis_name``: see :mod:`.particles` (the others take the
whole population's log weights, gathered by the caller). The ESS is BlackJAX's; resampling is BlackJAX's systematic
resampler.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from blackjax.smc import resampling
from blackjax.smc.ess import ess
from jax.scipy.special import logsumexp

from .particles import gather, population_size, total

__all__ = [
    "relative_ess",
    "next_beta",
    "resample",
    "count_distinct",
    "population_scale",
    "log_mean_exp",
]


def relative_ess(log_weights: jax.Array) -> jax.Array:
    """Kish effective sample size of normalised ``exp(log_weights)`` divided by N (BlackJAX's ESS).

    The weights are shifted to a maximum of 0 first: BlackJAX computes
    ``2 logsumexp(w) - logsumexp(2 w)``, which cancels catastrophically in float32 when the
    log weights are large (``-beta g`` reaches -1e13 at the first steps off the prior, where
    one unit in the last place is 1e6) and returned an infinite ESS, so beta jumped to
    ``beta_max`` at once.
    """
    return ess(log_weights - jnp.max(log_weights)) / log_weights.shape[0]


def next_beta(beta, penalty, target_ess: float, beta_max: float, num_bisection: int = 60):
    """Largest ``beta' <= beta_max`` with relative ESS of ``exp(-(beta' - beta) g) >= target_ess``.

    Bisection on ``log(beta' - beta)`` so the step is found at any scale, from the
    first step off the prior (``1/g`` may be 1e-4) to the last ones (1e6 and more).
    """
    room = jnp.maximum(beta_max - beta, 0.0)
    ess_at = lambda delta: relative_ess(-delta * penalty)  # noqa: E731
    take_all = ess_at(room) >= target_ess

    def body(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        ok = ess_at(jnp.exp(mid)) >= target_ess
        return jnp.where(ok, mid, lo), jnp.where(ok, hi, mid)

    lo = jnp.log(jnp.maximum(room, 1e-30)) - 60.0
    hi = jnp.log(jnp.maximum(room, 1e-30))
    lo, _ = jax.lax.fori_loop(0, num_bisection, body, (lo, hi))
    return jnp.where(take_all, beta_max, beta + jnp.exp(lo))


def resample(rng_key, log_weights: jax.Array) -> jax.Array:
    """Systematic resampling indices for one population."""
    n = log_weights.shape[0]
    return resampling.systematic(rng_key, jax.nn.softmax(log_weights), n)


def count_distinct(u: jax.Array, axis_name=None) -> jax.Array:
    """Number of distinct rows of ``u`` (exact equality, via a fixed random projection);
    of the whole population when its particles are split over ``axis_name``."""
    direction = jax.random.normal(jax.random.key(17), (u.shape[1],), dtype=u.dtype)
    keys = jnp.sort(gather(u @ direction, axis_name))
    return 1 + jnp.sum(keys[1:] != keys[:-1])


def population_scale(u: jax.Array, floor: float = 1e-6, axis_name=None) -> jax.Array:
    """Diagonal inverse mass matrix: per-coordinate variance of the population."""
    if axis_name is None:
        return jnp.maximum(jnp.var(u, axis=0), floor)
    n = population_size(u.shape[0], axis_name)
    centre = total(u, axis_name, axis=0) / n
    return jnp.maximum(total(jnp.square(u - centre), axis_name, axis=0) / n, floor)


def log_mean_exp(x: jax.Array) -> jax.Array:
    return logsumexp(x) - jnp.log(x.shape[0])
