"""The restricted kernel of ``smc``: the final phase, on the prior restricted to S (pure).

Because ``g = 0`` on S, the particles of a tempered population that lie in S are a
sample of the prior restricted to S at *any* beta. This kernel keeps those, resamples
them back to full size and rejuvenates them with NUTS moves that refuse to leave S: a
``pi_beta``-reversible kernel with moves out of S rejected is reversible for ``pi_beta``
restricted to S, which is the prior restricted to S. So every returned particle is in
S and duplicates from the resampling are moved apart (at most ``final_moves`` moves,
stopping once ``final_jump_target`` is reached). Beta and ``log Z_beta`` stay as they were.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .particles import gather, own_share
from .population import population_terms
from .tempered import SMCState, mutate
from .tempering import count_distinct, resample

__all__ = ["FinalInfo", "select", "update", "step"]


class FinalInfo(NamedTuple):
    acceptance: jax.Array
    num_moves: jax.Array
    num_distinct: jax.Array  # distinct particles after the moves
    num_ancestors: jax.Array  # distinct in-S particles the moves started from
    jump: jax.Array
    num_grad_evals: jax.Array
    num_grad_evals_executed: jax.Array
    num_divergent: jax.Array
    num_refused: jax.Array  # proposals refused for leaving S


def select(rng_key, state: SMCState, axis_name=None):
    """The in-S particles resampled to the population size, the number of distinct ones,
    the key for the moves and each new particle's parent index (``axis_name``: see
    :mod:`.particles`)."""
    k_resample, k_move = jax.random.split(rng_key)
    in_set = gather(state.in_set, axis_name)  # the whole population's
    # a population with no particle in S passes through (the driver drops its draws)
    log_weights = jnp.where(in_set | ~jnp.any(in_set), 0.0, -jnp.inf)
    ancestors = own_share(resample(k_resample, log_weights), state.u.shape[0], axis_name)
    u = gather(state.u, axis_name)[ancestors]
    return u, count_distinct(u, axis_name), k_move, ancestors


def update(target, state: SMCState, num_ancestors, moved, batch_size=None, axis_name=None) -> tuple[SMCState, FinalInfo]:
    u, step_size, move = moved
    _, penalty, in_set = population_terms(target, u, batch_size)
    new = state._replace(u=u, penalty=penalty, in_set=in_set, step_size=step_size, done=jnp.asarray(True))
    info = FinalInfo(
        acceptance=move.acceptance,
        num_moves=move.num_moves,
        num_distinct=count_distinct(u, axis_name),
        num_ancestors=num_ancestors,
        jump=move.jump,
        num_grad_evals=move.num_grad_evals,
        num_grad_evals_executed=move.num_grad_evals_executed,
        num_divergent=move.num_divergent,
        num_refused=move.num_rejected_outside,
    )
    return new, info


def step(target, config, rng_key, state: SMCState) -> tuple[SMCState, FinalInfo]:
    """The final phase of one population: ``update(mutate(select(state)))``."""
    u, num_ancestors, k_move, _ = select(rng_key, state)
    moved = mutate(target, config, k_move, u, state.beta, state.step_size, True, config.final_moves,
                   config.final_jump_target)
    return update(target, state, num_ancestors, moved, config.batch_size)
