"""What the population samplers share: populations on devices, initial draws, pooled volumes."""

from __future__ import annotations

import math

import jax
import numpy as np

from . import distributed
from .moves import chunked_vmap
from .particles import split_keys

__all__ = ["shard_chains", "log_volume_from_chains", "log_volume_se_dof", "initial_population", "population_terms", "stack_infos"]


def shard_chains(tree, num_chains: int):
    """Place every array with a leading chain axis across all local devices.

    With ``num_chains`` divisible by the device count, the chain axis is split
    over devices (2 CPU devices here, 8 GPUs on a node); jitted ``vmap``-over-chains
    code then runs data-parallel. Otherwise arrays stay where they are. Under
    ``jax.distributed.initialize`` the devices of every process share the chains
    (:func:`.distributed.place_chains`).
    """
    if distributed.is_distributed():
        return distributed.place_chains(tree, num_chains)
    sharding = distributed.chain_sharding(num_chains)
    if sharding is None:
        return tree
    return jax.tree.map(
        lambda a: jax.device_put(a, sharding) if getattr(a, "ndim", 0) >= 1 and a.shape[0] == num_chains else a,
        tree,
    )


def log_volume_from_chains(log_volumes) -> tuple[float, float]:
    """Pool per-chain estimates ``log Z_c``: ``log mean_c Z_c`` and its standard error.

    The SE is the delta method on the linear scale, ``sd(Z_c) / (sqrt(C) mean(Z_c))``,
    which stays finite when a chain found nothing (``Z_c = 0``). With one chain the
    spread is unknown and the SE is ``nan`` (stated in the tree's attrs).
    """
    lv = np.asarray(log_volumes, dtype=np.float64)
    top = np.max(lv)
    if not np.isfinite(top):
        return -math.inf, math.nan
    z = np.exp(lv - top)
    log_volume = float(top + np.log(np.mean(z)))
    if lv.size < 2:
        return log_volume, math.nan
    return log_volume, float(np.std(z, ddof=1) / (math.sqrt(lv.size) * np.mean(z)))


def log_volume_se_dof(log_volumes) -> dict:
    """The attrs entry saying how many degrees of freedom :func:`log_volume_from_chains`'s
    SE has: the spread of ``C`` chains' estimates, ``C - 1`` (none with one chain)."""
    n = np.asarray(log_volumes).size
    return {"log_volume_se_dof": n - 1} if n > 1 else {}


def initial_population(target, rng_key, num_particles: int, batch_size: int | None = None, axis_name=None):
    """``num_particles`` exact prior draws in the unconstrained space with their terms
    (this device's share of a population split over ``axis_name``: see :mod:`.particles`)."""
    keys = split_keys(rng_key, num_particles, axis_name)
    params, _ = jax.vmap(target.prior_draw)(keys)
    u = jax.vmap(target.unconstrain)(params)
    _, penalty, in_set = population_terms(target, u, batch_size)
    return u, penalty, in_set


def population_terms(target, u, batch_size: int | None = None):
    """``target.terms`` of every particle: all at once, or ``batch_size`` at a time.

    The network's activations at the data (``num_data x width`` floats per particle) are
    what a population's memory grows with; in chunks (``jax.lax.map``) only a chunk's
    are held at once, as in the moves.
    """
    return chunked_vmap(target.terms, u, batch_size)


def stack_infos(infos, fields) -> dict[str, np.ndarray]:
    """Per-stage infos (each field of shape (chain,)) -> arrays of shape (chain, stage)."""
    out = {}
    for name in fields:
        if infos:
            out[name] = np.stack([np.asarray(getattr(i, name)) for i in infos], axis=1)
    return out
