"""Adaptive tempered SMC with NUTS moves: the default method.

Target path ``pi_beta(u) ∝ prior(u) exp(-beta g(u))`` from ``beta = 0`` (exact prior
draws) upwards. Each stage: choose the next beta by bisection so the relative ESS of
the incremental weights ``exp(-(beta' - beta) g)`` falls to ``target_ess``; accumulate
``log Z_beta``; resample (systematic); move every particle with NUTS (BlackJAX) using a
diagonal mass matrix from the population and a step size adapted to the acceptance,
repeating moves until particles have travelled (``jump_target``). Stop when a fraction
``min_fraction_in_set`` of the population lies in S (or beta reaches ``beta_max``).

Because ``g = 0`` on S, the particles in S are a sample of the prior restricted to S at
*any* beta. The final step keeps those, resamples them back to full size and
rejuvenates them with NUTS moves that refuse to leave S, so every returned draw is in
S and duplicates are moved apart. ``log vol(S) = log Z_beta + log(fraction in S)``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from .._errors import InfeasibleError
from ..output import build_tree
from .base import Sampler, check_fraction, check_positive_float, check_positive_int
from .kernels import (
    MOVE_KERNELS,
    count_distinct,
    log_mean_exp,
    next_beta,
    nuts_moves,
    population_scale,
    relative_ess,
    resample,
)
from .population import (
    distinct_rows,
    initial_population,
    log_volume_from_chains,
    run_stages,
    shard_chains,
    stack_infos,
)
from .progress import progress

__all__ = ["SMC", "SMCState", "StageInfo"]


class SMCState(NamedTuple):
    u: jax.Array  # (N, dim) unconstrained particles
    penalty: jax.Array  # (N,)
    in_set: jax.Array  # (N,)
    beta: jax.Array
    log_z: jax.Array  # log Z_beta estimate
    step_size: jax.Array
    log_weights: jax.Array  # (N,) last incremental weights, before resampling
    done: jax.Array


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
    jump: jax.Array  # mean squared whitened jump per coordinate over the stage's moves
    num_ancestors: jax.Array  # distinct particles the moves started from (after resampling)
    log_z: jax.Array
    active: jax.Array


@dataclass(frozen=True)
class SMC(Sampler):
    """Adaptive tempered SMC with NUTS moves (``method="smc"``).

    Parameters
    ----------
    target_ess : float
        Relative ESS the next beta is chosen to reach, in (0, 1) (default 0.5).
    min_fraction_in_set : float
        Stop tempering once this fraction of a population lies in S (default 0.25).
    beta_max : float
        Largest inverse temperature (default 1e8).
    max_beta_ratio : float
        Cap on ``beta' / beta`` per stage (default 10): a huge jump late in the
        schedule makes the penalty walls steep and the NUTS steps tiny.
    min_moves, max_moves : int
        NUTS moves per stage (default 2 to 12); moves stop early once the mean squared
        whitened jump reaches ``jump_target``.
    jump_target : float
        Mean squared jump per coordinate, in population standard deviations, that
        counts as decorrelated (default 0.3).
    final_moves : int
        Most restricted NUTS moves for the final population (default 12); at least
        ``min_moves``, stopping once ``jump_target`` is reached.
    max_tree_depth : int
        NUTS maximum number of doublings (default 6: at most 63 leapfrog steps).
    kernel : {"nuts", "hmc"}
        The move (default ``"nuts"``). ``"hmc"``: plain HMC of ``2**max_tree_depth - 1``
        leapfrog steps, for problems whose NUTS trees all reach the depth cap (mean steps
        per particle and move near 63 in ``tree["smc_stages"]``: ``num_grad_evals /
        (num_moves * num_particles)``): it does the same work without the tree's
        bookkeeping, about 1.6× faster per step on the benchmarks' teacher. Where trees
        stop early (small problems such as XOR), NUTS is cheaper. Opt-in: on that
        teacher its log-volume estimates sat 0.3-0.6 nats below the NUTS runs' (see
        BENCHMARKS.md), so check it against a NUTS run before relying on it.
    target_accept : float
        Step-size adaptation target (default 0.8).
    max_stages : int
        Stage budget (default 500).
    max_seconds : float, optional
        Wall-clock budget, checked between stages.
    num_particles : int, optional
        Particles per chain; default ``num_samples // num_chains``.
    batch_size : int, optional
        Move particles in chunks of this size to bound memory on large populations
        or networks (default: all particles of a chain at once).
    """

    target_ess: float = 0.5
    min_fraction_in_set: float = 0.25
    beta_max: float = 1e8
    max_beta_ratio: float = 10.0
    min_moves: int = 2
    max_moves: int = 12
    jump_target: float = 0.3
    final_moves: int = 12
    max_tree_depth: int = 6
    kernel: str = "nuts"
    target_accept: float = 0.8
    max_stages: int = 500
    max_seconds: float | None = None
    num_particles: int | None = None
    batch_size: int | None = None
    name = "smc"

    def validate(self):
        for field in ("target_ess", "min_fraction_in_set", "target_accept"):
            check_fraction(field, getattr(self, field))
        check_positive_float("beta_max", self.beta_max)
        check_positive_float("jump_target", self.jump_target)
        check_positive_float("max_beta_ratio", self.max_beta_ratio)
        if self.max_beta_ratio <= 1:
            raise ValueError(f"max_beta_ratio must be > 1, got {self.max_beta_ratio!r}")
        check_positive_float("max_seconds", self.max_seconds, allow_none=True)
        check_positive_int("min_moves", self.min_moves)
        check_positive_int("max_moves", self.max_moves, minimum=self.min_moves)
        check_positive_int("final_moves", self.final_moves)
        check_positive_int("max_tree_depth", self.max_tree_depth)
        if self.kernel not in MOVE_KERNELS:
            raise ValueError(f"kernel must be one of {MOVE_KERNELS}, got {self.kernel!r}")
        check_positive_int("max_stages", self.max_stages)
        if self.num_particles is not None:
            check_positive_int("num_particles", self.num_particles, minimum=2)
        if self.batch_size is not None:
            check_positive_int("batch_size", self.batch_size)

    # -- pure functions of one population ------------------------------------------
    def init(self, target, rng_key, num_particles: int) -> SMCState:
        u, penalty, in_set = initial_population(target, rng_key, num_particles)
        return SMCState(
            u=u,
            penalty=penalty,
            in_set=in_set,
            beta=jnp.zeros(()),
            log_z=jnp.zeros(()),
            step_size=jnp.asarray(0.5),
            log_weights=jnp.zeros(num_particles),
            done=jnp.mean(in_set) >= self.min_fraction_in_set,
        )

    def step(self, target, rng_key, state: SMCState, final=False) -> tuple[SMCState, StageInfo]:
        """One stage: next beta, reweight, resample, NUTS moves. Done chains pass through.

        With ``final`` (may be traced) it is the last step instead: beta stays, the
        particles in S are resampled to full size and moved by NUTS moves that refuse
        to leave S (at most ``final_moves``). Both share one compiled program.
        """
        k_resample, k_move = jax.random.split(rng_key)
        beta = next_beta(state.beta, state.penalty, self.target_ess, self.beta_max)
        beta = jnp.where(state.beta > 0, jnp.minimum(beta, state.beta * self.max_beta_ratio), beta)
        beta = jnp.where(final, state.beta, beta)
        log_weights = jnp.where(
            final, jnp.where(state.in_set, 0.0, -jnp.inf), -(beta - state.beta) * state.penalty
        )
        u = state.u[resample(k_resample, log_weights)]
        num_ancestors = count_distinct(u)
        u, step_size, move = nuts_moves(
            k_move,
            u,
            lambda x: target.tempered_logdensity(x, beta),
            target.in_set,
            state.step_size,
            population_scale(u),
            min_moves=self.min_moves,
            max_moves=jnp.where(final, self.final_moves, self.max_moves),
            jump_target=self.jump_target,
            max_num_doublings=self.max_tree_depth,
            target_accept=self.target_accept,
            restrict_to_set=final,
            batch_size=self.batch_size,
            kernel=self.kernel,
        )
        _, penalty, in_set = jax.vmap(target.terms)(u)
        fraction = jnp.mean(in_set)
        new = SMCState(
            u=u,
            penalty=penalty,
            in_set=in_set,
            beta=beta,
            log_z=jnp.where(final, state.log_z, state.log_z + log_mean_exp(log_weights)),
            step_size=step_size,
            log_weights=jnp.where(final, state.log_weights, log_weights),
            done=(fraction >= self.min_fraction_in_set) | (beta >= self.beta_max) | final,
        )
        active = ~state.done | final
        new = jax.tree.map(lambda a, b: jnp.where(active, a, b), new, state)
        info = StageInfo(
            beta=new.beta,
            ess=relative_ess(log_weights),
            acceptance=move.acceptance,
            step_size=step_size,
            fraction_in_set=fraction,
            num_distinct=count_distinct(u),
            num_moves=move.num_moves,
            num_grad_evals=jnp.where(active, move.num_grad_evals, 0),
            num_grad_evals_executed=jnp.where(active, move.num_grad_evals_executed, 0),
            jump=move.jump,
            num_ancestors=num_ancestors,
            log_z=new.log_z,
            active=active,
        )
        return new, info

    # -- the driver -------------------------------------------------------------------
    def run(self, target, rng_key, num_samples, num_chains, progress_bar):
        num_particles = self.num_particles or num_samples // num_chains
        if num_particles < 2:
            raise ValueError(f"num_samples must give >= 2 particles per chain, got {num_particles}")
        k_init, k_run, k_final = jax.random.split(rng_key, 3)
        # compiled once per sampler, population size and problem shape: a new dataset of
        # the same size (a planted teacher, a calibration run) reuses both programs
        init = target.jit(
            lambda t: jax.vmap(partial(self.init, t, num_particles=num_particles)), ("smc-init", self, num_particles)
        )
        step = target.jit(lambda t: jax.vmap(partial(self.step, t), in_axes=(0, 0, None)), ("smc-step", self))
        states = init(shard_chains(jax.random.split(k_init, num_chains), num_chains))
        bar = progress(progress_bar, desc="smc", unit="stage", total=None)

        def on_stage(stage, states, info):
            bar.update(1)
            bar.set_postfix(
                beta=f"{float(np.min(info.beta)):.3g}",
                in_S=f"{float(np.mean(info.fraction_in_set)):.2f}",
                distinct=int(np.sum(info.num_distinct)),
                acc=f"{float(np.mean(info.acceptance)):.2f}",
            )

        states, infos, reason = run_stages(
            lambda keys, states: step(keys, states, False),
            states,
            shard_chains(jax.random.split(k_run, num_chains), num_chains),
            max_stages=self.max_stages,
            max_seconds=self.max_seconds,
            is_done=lambda s: bool(np.all(jax.device_get(s.done))),
            on_stage=on_stage,
        )
        bar.close()
        fraction = np.asarray(jax.device_get(jnp.mean(states.in_set, axis=1)), dtype=np.float64)
        log_z = np.asarray(jax.device_get(states.log_z), dtype=np.float64)
        with np.errstate(divide="ignore"):
            chain_log_volume = log_z + np.log(fraction)
        if not np.any(fraction > 0):
            upper = float(log_volume_from_chains(log_z)[0])
            raise InfeasibleError(
                f"smc: no particle reached S after {len(infos)} stages "
                f"(beta = {float(np.max(jax.device_get(states.beta))):.3g}, stopped by {reason}); "
                "the bound is the tempered evidence log Z_beta >= log vol(S)",
                upper,
            )
        if not np.all(fraction > 0):
            raise InfeasibleError(
                f"smc: {int(np.sum(fraction == 0))} of {num_chains} chains have no particle in S "
                f"after {len(infos)} stages (stopped by {reason}); S is hard to reach here — "
                "raise num_samples or max_stages",
                float(log_volume_from_chains(log_z)[0]),
            )
        complete = reason == "done"
        if not complete:
            warnings.warn(
                f"smc stopped by {reason} before every chain reached "
                f"min_fraction_in_set={self.min_fraction_in_set}; returning the in-S particles "
                "of the last completed stage",
                RuntimeWarning,
                stacklevel=3,
            )
        final, final_info = step(shard_chains(jax.random.split(k_final, num_chains), num_chains), states, True)
        return self._tree(target, final, infos, final_info, chain_log_volume, fraction, complete, reason)

    def _tree(self, target, states, infos, final_info, chain_log_volume, fraction, complete, reason):
        u = states.u
        params = jax.vmap(jax.vmap(target.constrain))(u)
        log_volume, log_volume_se = log_volume_from_chains(chain_log_volume)
        stages = stack_infos(infos, StageInfo._fields)
        stages_ds = xr.Dataset(
            {k: (("chain", "stage"), v) for k, v in stages.items()}
            | {
                "log_volume": ("chain", chain_log_volume),
                "final_fraction_in_set": ("chain", fraction),
                "final_beta": ("chain", np.asarray(jax.device_get(states.beta), dtype=np.float64)),
                "final_moves": ("chain", np.asarray(final_info.num_moves)),
                "final_acceptance": ("chain", np.asarray(final_info.acceptance)),
                "final_num_distinct": ("chain", np.asarray(final_info.num_distinct)),
                "final_num_ancestors": ("chain", np.asarray(final_info.num_ancestors)),
                "final_jump": ("chain", np.asarray(final_info.jump)),
            }
        )
        def total(name):
            n = int(np.sum(np.asarray(stages[name], dtype=np.int64))) if stages else 0
            return n + int(np.sum(np.asarray(getattr(final_info, name), dtype=np.int64)))

        grad_evals, grad_evals_executed = total("num_grad_evals"), total("num_grad_evals_executed")
        attrs = {
            "method": self.name,
            "log_volume": log_volume,
            "log_volume_se": log_volume_se,
            "num_stages": len(infos),
            "num_grad_evals": grad_evals,
            # vectorised NUTS builds every tree of a batch as long as its longest one
            "num_grad_evals_executed": grad_evals_executed,
            "num_distinct": distinct_rows(u),
            # the in-S particles the final moves started from: a floor on real diversity
            "num_distinct_ancestors": int(np.sum(np.asarray(final_info.num_ancestors))),
            "final_jump": float(np.mean(np.asarray(final_info.jump))),
            "stop_reason": reason,
            "complete": complete,
            "target_ess": self.target_ess,
            "min_fraction_in_set": self.min_fraction_in_set,
        }
        if math.isnan(log_volume_se):
            attrs["log_volume_se_note"] = "one chain: run num_chains >= 2 for a standard error"
        return build_tree(
            {k: np.asarray(v) for k, v in params.items()},
            {
                "in_set": np.asarray(states.in_set),  # computed by the final step on these u
                "log_weights": np.asarray(jax.device_get(states.log_weights), dtype=np.float64),
            },
            attrs,
            {"smc_stages": stages_ds},
        )
