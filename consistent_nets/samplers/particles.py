"""One population's particles on one device, or split over several (``cn.SMC(split_particles=True)``).

The kernels of ``smc`` (:mod:`.tempered`, :mod:`.restricted`, :mod:`.moves`) are written
for one population. Each takes ``axis_name``: ``None`` when the whole population is on
one device (the arrays are the population), or the name of the mesh axis its particles
are split over under :func:`jax.shard_map` (the arrays are this device's share, in
particle order). The functions here are the only places where the two differ:

* sums and means over particles are :func:`jax.lax.psum` over the axis;
* what needs every particle at once — the log weights of the ESS bisection and of the
  resampling, the projections :func:`.tempering.count_distinct` sorts, the positions the
  resampled particles are copied from — is gathered (:func:`jax.lax.all_gather`) and
  computed identically on every device, which then keeps its own share;
* random keys are split for the whole population and sliced, so particle ``i`` gets the
  key it gets on one device.

So a split population computes what an unsplit one computes, except that sums over
particles (the step size's acceptance, the mass matrix, the jump) are taken in another
order: it starts identically (prior draws, first beta and log Z, bit for bit), and once
those roundings flip an accept/reject step it is another exact sample of the same
target. Each device runs its share's NUTS trees to their own ends; the devices meet
once per move (mean acceptance and jump) and at each resampling (``N`` log weights and
``N x dim`` positions gathered, so the whole population's positions must fit on one
device; what is split is the moves' and the density evaluations' memory and work).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["AXIS", "total", "mean", "gather", "own_share", "split_keys", "population_size"]

#: the mesh axis name split populations use
AXIS = "particles"


def population_size(n_local: int, axis_name) -> int:
    """Particles in the whole population, from this device's share."""
    return n_local if axis_name is None else n_local * jax.lax.axis_size(axis_name)


def total(x, axis_name, axis=None):
    """``jnp.sum(x, axis)`` over the whole population's particles (leading axis)."""
    s = jnp.sum(x, axis=axis)
    return s if axis_name is None else jax.lax.psum(s, axis_name)


def mean(x, axis_name):
    """``jnp.mean(x)`` over every element of the whole population's ``x``."""
    if axis_name is None:
        return jnp.mean(x)
    return total(x, axis_name) / (x.size * jax.lax.axis_size(axis_name))


def gather(x, axis_name):
    """The whole population's ``x`` (leading axis: particles) on every device."""
    return x if axis_name is None else jax.lax.all_gather(x, axis_name, tiled=True)


def own_share(x_all, n_local: int, axis_name):
    """This device's rows of an array over the whole population."""
    if axis_name is None:
        return x_all
    start = jax.lax.axis_index(axis_name) * n_local
    return jax.lax.dynamic_slice_in_dim(x_all, start, n_local)


def split_keys(rng_key, n_local: int, axis_name):
    """``jax.random.split(rng_key, N)`` for the whole population, this device's share."""
    return own_share(jax.random.split(rng_key, population_size(n_local, axis_name)), n_local, axis_name)
