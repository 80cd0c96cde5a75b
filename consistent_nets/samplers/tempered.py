"""The tempering kernel of ``smc``: one adaptive stage on one population (pure functions).

Target path ``pi_beta(u) ∝ prior(u) exp(-beta g(u))`` from ``beta = 0`` (exact prior
draws) upwards. One stage: choose the next beta by bisection so the relative ESS of the
incremental weights ``exp(-(beta' - beta) g)`` falls to ``target_ess`` (at most
``max_beta_ratio`` times the current beta); accumulate ``log Z_beta``; resample
(systematic); move every particle with NUTS (BlackJAX) using a diagonal mass matrix
(the population's variance, or another population's: see ``SMC.mass``) and a step size
adapted to the acceptance, repeating moves until
particles have travelled (``jump_target``). A population is done when a fraction
``min_fraction_in_set`` of it lies in S (or beta reaches ``beta_max``); a done
population passes through unchanged.

As in BlackJAX (``smc/tempered.py``), :func:`init` and :func:`step` are pure functions
of a NamedTuple state; ``config`` is the :class:`~consistent_nets.SMC` object. A step is
the composition ``reweight -> mutate -> update``; the driver compiles ``mutate`` once
and shares it with the restricted kernel (:mod:`.restricted`), which is where almost
all of the compile time goes.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .moves import MoveInfo, nuts_moves
from .particles import gather, mean, own_share
from .population import initial_population, population_terms
from .tempering import count_distinct, log_mean_exp, next_beta, population_scale, relative_ess, resample

__all__ = ["SMCState", "StageInfo", "Reweighted", "init", "reweight", "mutate", "update", "step"]


class SMCState(NamedTuple):
    u: jax.Array  # (N, dim) unconstrained particles
    penalty: jax.Array  # (N,)
    in_set: jax.Array  # (N,)
    beta: jax.Array
    log_z: jax.Array  # log Z_beta estimate
    step_size: jax.Array
    log_weights: jax.Array  # (N,) last incremental weights, before resampling
    done: jax.Array
    stalled: jax.Array  # a stage's moves ran to max_moves (short of jump_target); stays True


class StageInfo(NamedTuple):
    beta: jax.Array
    ess: jax.Array  # relative ESS of the incremental weights
    acceptance: jax.Array
    step_size: jax.Array
    fraction_in_set: jax.Array
    num_distinct: jax.Array
    num_moves: jax.Array
    num_grad_evals: jax.Array  # leapfrog steps the trajectories used
    num_grad_evals_executed: jax.Array  # leapfrog steps computed (a batch waits for its longest tree)
    num_divergent: jax.Array  # divergent NUTS transitions over particles and moves
    jump: jax.Array  # mean squared whitened jump per coordinate over the stage's moves
    num_ancestors: jax.Array  # distinct particles the moves started from (after resampling)
    log_z: jax.Array
    active: jax.Array


class Reweighted(NamedTuple):
    """The population after reweighting and resampling, before the moves."""

    beta: jax.Array
    log_weights: jax.Array  # incremental weights of the particles before resampling
    u: jax.Array  # resampled particles
    num_ancestors: jax.Array
    move_key: jax.Array
    ancestors: jax.Array  # (N,) index of each resampled particle's parent


def init(target, config, rng_key, num_particles: int, axis_name=None) -> SMCState:
    """``num_particles`` exact prior draws at ``beta = 0`` (this device's share of them
    when the population is split over ``axis_name``; see :mod:`.particles`)."""
    u, penalty, in_set = initial_population(target, rng_key, num_particles, config.batch_size, axis_name)
    return SMCState(
        u=u,
        penalty=penalty,
        in_set=in_set,
        beta=jnp.zeros(()),
        log_z=jnp.zeros(()),
        step_size=jnp.asarray(0.5),
        log_weights=jnp.zeros(num_particles),
        done=mean(in_set, axis_name) >= config.min_fraction_in_set,
        stalled=jnp.asarray(False),
    )


def reweight(config, rng_key, state: SMCState, axis_name=None) -> Reweighted:
    """Next beta (ESS bisection, capped ratio), incremental weights, systematic resampling."""
    k_resample, k_move = jax.random.split(rng_key)
    penalty = gather(state.penalty, axis_name)  # the whole population's
    target_ess = config.target_ess
    reached = mean(state.in_set, axis_name) > 0
    if config.target_ess_in_set is not None:  # finer (or coarser) steps once the population reached S
        target_ess = jnp.where(reached, config.target_ess_in_set, target_ess)
    if config.target_ess_stalled is not None:  # finer steps in S once the moves stall (never coarser)
        target_ess = jnp.where(reached & state.stalled, jnp.maximum(target_ess, config.target_ess_stalled), target_ess)
    beta = next_beta(state.beta, penalty, target_ess, config.beta_max)
    beta = jnp.where(state.beta > 0, jnp.minimum(beta, state.beta * config.max_beta_ratio), beta)
    log_weights = -(beta - state.beta) * penalty
    n = state.u.shape[0]
    ancestors = own_share(resample(k_resample, log_weights), n, axis_name)
    u = gather(state.u, axis_name)[ancestors]
    own = own_share(log_weights, n, axis_name)
    return Reweighted(beta, own, u, count_distinct(u, axis_name), k_move, ancestors)


def mutate(target, config, rng_key, u, beta, step_size, restrict_to_set, max_moves, jump_target,
           inverse_mass=None, axis_name=None):
    """NUTS (or HMC) moves of every particle at ``beta`` until they decorrelate.

    ``restrict_to_set``, ``max_moves`` and ``jump_target`` may be traced, so one
    compiled program serves the tempering stages and the restricted final phase.
    ``inverse_mass``: the diagonal inverse mass matrix (``None``: this population's
    per-coordinate variance, :func:`.tempering.population_scale`).
    """
    if inverse_mass is None:
        inverse_mass = population_scale(u, axis_name=axis_name)
    return nuts_moves(
        rng_key,
        u,
        lambda x: target.tempered_logdensity(x, beta),
        target.in_set,
        step_size,
        inverse_mass,
        min_moves=config.min_moves,
        max_moves=max_moves,
        jump_target=jump_target,
        max_num_doublings=config.max_tree_depth,
        target_accept=config.target_accept,
        restrict_to_set=restrict_to_set,
        batch_size=config.batch_size,
        kernel=config.kernel,
        axis_name=axis_name,
    )


def update(target, config, state: SMCState, reweighted: Reweighted, moved, axis_name=None) -> tuple[SMCState, StageInfo]:
    """The new state after the moves; a population that was already done is unchanged."""
    u, step_size, move = moved
    move: MoveInfo
    _, penalty, in_set = population_terms(target, u, config.batch_size)
    fraction = mean(in_set, axis_name)
    beta = reweighted.beta
    log_weights = gather(reweighted.log_weights, axis_name)
    new = SMCState(
        u=u,
        penalty=penalty,
        in_set=in_set,
        beta=beta,
        log_z=state.log_z + log_mean_exp(log_weights),
        step_size=step_size,
        log_weights=reweighted.log_weights,
        done=(fraction >= config.min_fraction_in_set) | (beta >= config.beta_max),
        stalled=state.stalled | (move.num_moves >= config.max_moves),
    )
    active = ~state.done
    new = jax.tree.map(lambda a, b: jnp.where(active, a, b), new, state)
    info = StageInfo(
        beta=new.beta,
        ess=relative_ess(log_weights),
        acceptance=move.acceptance,
        step_size=step_size,
        fraction_in_set=fraction,
        num_distinct=count_distinct(u, axis_name),
        num_moves=move.num_moves,
        num_grad_evals=jnp.where(active, move.num_grad_evals, 0),
        num_grad_evals_executed=jnp.where(active, move.num_grad_evals_executed, 0),
        num_divergent=jnp.where(active, move.num_divergent, 0),
        jump=move.jump,
        num_ancestors=reweighted.num_ancestors,
        log_z=new.log_z,
        active=active,
    )
    return new, info


def step(target, config, rng_key, state: SMCState) -> tuple[SMCState, StageInfo]:
    """One tempering stage of one population: ``update(mutate(reweight(state)))``."""
    r = reweight(config, rng_key, state)
    moved = mutate(target, config, r.move_key, r.u, r.beta, state.step_size, False, config.max_moves, config.jump_target)
    return update(target, config, state, r, moved)


def steps_per_move(infos, num_particles: int) -> float:
    """Mean leapfrog steps of one particle's move in each population's last tempering
    stage (``infos``: the stages' :class:`StageInfo`, on the host); NaN without a stage.
    Near ``2**max_tree_depth - 1`` the NUTS trees saturated: no U-turn within the cap."""
    if not infos:
        return math.nan
    grads = np.stack([np.asarray(i.num_grad_evals, np.float64) for i in infos])  # (stage, chain)
    moves = np.stack([np.asarray(i.num_moves, np.float64) for i in infos])
    active = np.stack([np.asarray(i.active, bool) for i in infos])
    last = len(infos) - 1 - np.argmax(active[::-1], axis=0)  # each population's last active stage
    chains = np.arange(active.shape[1])
    total_moves = np.sum(moves[last, chains]) * num_particles
    return float(np.sum(grads[last, chains]) / total_moves) if total_moves else math.nan
