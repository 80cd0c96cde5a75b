"""The mutation of population samplers: NUTS (or HMC) moves of every particle.

Works on one population ``u`` of shape ``(num_particles, dim)`` in the unconstrained
space; the samplers ``vmap`` it over independent populations. NUTS and HMC are
BlackJAX's kernels.
"""

from __future__ import annotations

from typing import NamedTuple

import blackjax
import jax
import jax.numpy as jnp

from .particles import mean, split_keys, total

__all__ = ["MOVE_KERNELS", "MoveInfo", "chunked_vmap", "nuts_moves"]

_nuts_kernel = blackjax.nuts.build_kernel()
_hmc_kernel = blackjax.hmc.build_kernel()
MOVE_KERNELS = ("nuts", "hmc", "rhmc")


def chunked_vmap(fn, xs, batch_size: int | None = None):
    """``jax.vmap(fn)(xs)``, or ``batch_size`` rows at a time (``jax.lax.map``) so that
    only a chunk's network activations are held in memory at once."""
    if batch_size is None or batch_size >= xs.shape[0]:
        return jax.vmap(fn)(xs)
    return jax.lax.map(fn, xs, batch_size=batch_size)


class MoveInfo(NamedTuple):
    acceptance: jax.Array  # mean NUTS acceptance statistic over particles and moves
    num_grad_evals: jax.Array  # leapfrog steps summed over particles and moves
    num_grad_evals_executed: jax.Array  # the same, as vectorised: a batch runs as long as its longest tree
    num_divergent: jax.Array
    num_moves: jax.Array
    jump: jax.Array  # mean squared whitened jump per coordinate, start to end
    num_rejected_outside: jax.Array  # restricted moves refused for leaving S


def nuts_moves(
    rng_key,
    u,
    logdensity_fn,
    in_set_fn,
    step_size,
    inverse_mass_matrix,
    *,
    min_moves: int,
    max_moves: int,
    jump_target: float,
    max_num_doublings: int,
    target_accept: float,
    restrict_to_set=False,
    batch_size: int | None = None,
    kernel: str = "nuts",
    axis_name=None,
):
    """NUTS moves of every particle until they decorrelate, adapting the step size.

    ``kernel="hmc"`` moves with plain HMC of ``L = 2**max_num_doublings - 1`` leapfrog
    steps instead: the length NUTS reaches when its trees saturate, without the tree's
    cost. ``kernel="rhmc"``: HMC whose number of leapfrog steps is drawn uniformly from
    ``1..L`` afresh for each move, shared by the population (random path length,
    Mackenzie 1989): each move is an exact HMC kernel for the length drawn, and the
    random length breaks the periodic orbits a fixed length can fall into; the shared
    length keeps the vectorised particles in lockstep, so nothing is computed in vain.

    Moves continue (at least ``min_moves``, at most ``max_moves``) until the mean
    squared jump from the starting positions, in units of the population's standard
    deviation, reaches ``jump_target`` per coordinate. Between moves the common step
    size follows ``log h += acc - target_accept`` (scaled), which keeps every move
    exactly pi_beta-invariant for the step size it used.

    With ``restrict_to_set`` (a bool, may be traced) a proposal that leaves S is
    refused (the particle stays): a pi_beta-reversible kernel with moves out of S
    rejected is reversible for pi_beta restricted to S, i.e. for the prior restricted
    to S. ``max_moves`` may be traced too, so one compiled program serves both uses.
    ``batch_size`` moves particles in chunks of that size (``jax.lax.map``), bounding
    memory for large populations; ``None`` moves them all at once. With ``axis_name``
    ``u`` is this device's share of a population split over that mesh axis
    (:mod:`.particles`): the step size, jump and counts are the whole population's.

    ``MoveInfo.num_grad_evals`` counts the leapfrog steps the particles' trajectories
    used; ``num_grad_evals_executed`` counts those computed, since a vectorised NUTS
    step runs every particle of a batch until the longest trajectory in it is built.

    Returns
    -------
    u, step_size, MoveInfo
    """
    if kernel not in MOVE_KERNELS:
        raise ValueError(f"kernel must be one of {MOVE_KERNELS}, got {kernel!r}")
    num_particles = u.shape[0]
    batch = min(batch_size or num_particles, num_particles)

    def each(fn, xs):
        return chunked_vmap(fn, xs, batch)

    states = each(lambda x: blackjax.nuts.init(x, logdensity_fn), u)
    # the jump's units: per-coordinate standard deviations (a dense inverse mass: its diagonal)
    scale = jnp.sqrt(inverse_mass_matrix if inverse_mass_matrix.ndim == 1 else jnp.diagonal(inverse_mass_matrix))
    restrict_to_set = jnp.asarray(restrict_to_set, dtype=bool)

    def executed(steps):
        # lax.map runs full batches of `batch`, then the remainder as one vectorised call
        full = (num_particles // batch) * batch
        out = jnp.sum(jnp.max(steps[:full].reshape(-1, batch), axis=1)) * batch
        if full < num_particles:
            out = out + jnp.max(steps[full:]) * (num_particles - full)
        return out

    def jump(states):
        return mean(jnp.square((states.position - u) / scale), axis_name)

    def one_move(carry):
        key, states, h, acc_sum, grads, grads_exec, div, moves, refused, _ = carry
        key, sub, k_length = jax.random.split(key, 3)
        keys = split_keys(sub, num_particles, axis_name)
        if kernel in ("hmc", "rhmc"):
            length = 2**max_num_doublings - 1
            if kernel == "rhmc":
                length = jax.random.randint(k_length, (), 1, length + 1)
            move = lambda ks: _hmc_kernel(ks[0], ks[1], logdensity_fn, h, inverse_mass_matrix, length)  # noqa: E731
        else:
            move = lambda ks: _nuts_kernel(ks[0], ks[1], logdensity_fn, h, inverse_mass_matrix, max_num_doublings)  # noqa: E731
        new, info = jax.lax.map(move, (keys, states), batch_size=batch)
        keep = each(in_set_fn, new.position) | ~restrict_to_set
        new = jax.tree.map(
            lambda a, b: jnp.where(keep.reshape((-1,) + (1,) * (a.ndim - 1)), a, b), new, states
        )
        refused = refused + total(~keep, axis_name)
        acc = mean(info.acceptance_rate, axis_name)
        h = h * jnp.exp(jnp.clip(2.0 * (acc - target_accept), -1.0, 0.5))
        return (
            key,
            new,
            h,
            acc_sum + acc,
            grads + total(info.num_integration_steps, axis_name),
            grads_exec + total(executed(info.num_integration_steps), axis_name),
            div + total(info.is_divergent, axis_name),
            moves + 1,
            refused,
            jump(new),
        )

    def keep_going(carry):
        # reads carried values only: with the particles split over devices the jump is a
        # collective, taken once per move in the body, never in the loop's condition
        moves, travelled = carry[7], carry[9]
        return (moves < min_moves) | ((moves < max_moves) & (travelled < jump_target))

    zero_i = jnp.zeros((), jnp.int32)
    carry = (rng_key, states, step_size, jnp.zeros(()), zero_i, zero_i, zero_i, zero_i, zero_i, jnp.zeros(()))
    _, states, step_size, acc_sum, grads, grads_exec, div, moves, refused, travelled = jax.lax.while_loop(
        keep_going, one_move, carry
    )
    info = MoveInfo(acc_sum / jnp.maximum(moves, 1), grads, grads_exec, div, moves, travelled, refused)
    return states.position, step_size, info


