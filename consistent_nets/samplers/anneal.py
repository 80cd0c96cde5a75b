"""Annealed NUTS: the design-card literal.

Independent NUTS chains (BlackJAX's NUTS with Stan-style window adaptation, chains
vectorised and sharded over devices) are driven through a beta schedule on the
tempered density ``prior * exp(-beta g)``. Each stage re-adapts step size and a
diagonal mass matrix (``num_warmup`` steps) from where the last stage ended, then
takes ``num_steps`` NUTS steps; beta is a traced argument, so one program is compiled
for all stages. At the last stage the draws that lie in S are kept.

Each chain follows one path into one region of S and stays there: the draws are
uniform *within* the modes the chains reached, but mode weights are set by where
chains happened to land, not by the volumes of the modes. Many chains help; only SMC's
resampling corrects the weights.

log vol(S) is estimated by thermodynamic integration,
``log Z_beta_K = -int_0^beta_K E_beta[g] d beta`` (trapezoid over the schedule, with
``E_0[g]`` from the exact prior draws that start the chains), plus
``log(fraction in S)`` at the last stage; its SE comes from the spread of per-chain
estimates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import blackjax
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_fraction, check_int
from .._trees import count_distinct_rows
from .base import Sampler
from .population import initial_population, log_volume_attrs, log_volume_from_chains, shard_chains
from .result import Infeasible, Result
from .schedules import Schedule, geometric_schedule, schedule_values

__all__ = ["Anneal"]

@dataclass(frozen=True)
class Anneal(Sampler):
    """NUTS chains through a beta schedule (``method="anneal"``).

    Parameters
    ----------
    schedule : callable, optional
        ``stage -> beta`` (default ``geometric_schedule(1e-3, 1e4, num_stages)``).
    num_stages : int
        Number of stages (default 30).
    num_warmup, num_steps : int
        NUTS warm-up (window adaptation) and kept steps per stage (default 100 and 50).
    max_tree_depth : int
        NUTS maximum tree depth (default 6).
    target_accept : float
        NUTS target acceptance (default 0.8).
    max_extra_rounds : int
        At the last stage, further rounds of ``num_steps`` while a chain has fewer
        draws in S than asked (default 20).
    feasibility_probe : bool
        Before the schedule, refuse an S that looks empty within seconds (default True;
        see :mod:`consistent_nets.samplers.feasibility`).
    """

    schedule: Schedule | None = None
    num_stages: int = 30
    num_warmup: int = 100
    num_steps: int = 50
    max_tree_depth: int = 6
    target_accept: float = 0.8
    max_extra_rounds: int = 20
    feasibility_probe: bool = field(default=True, compare=False)  # not part of the compiled programs' keys
    name = "anneal"

    def betas(self) -> np.ndarray:
        schedule = self.schedule or geometric_schedule(1e-3, 1e4, self.num_stages)
        return schedule_values(schedule, self.num_stages)

    def validate(self):
        check_int("num_stages", self.num_stages)
        check_int("num_warmup", self.num_warmup)
        check_int("num_steps", self.num_steps)
        check_int("max_tree_depth", self.max_tree_depth)
        check_int("max_extra_rounds", self.max_extra_rounds, minimum=0)
        check_fraction("target_accept", self.target_accept)
        self.betas()

    def stage(self, target, rng_key, position, beta):
        """Window-adapt NUTS at ``beta`` from ``position``, then ``num_steps`` steps (one chain)."""
        logdensity = lambda u: target.tempered_logdensity(u, beta)  # noqa: E731
        k_warm, k_run = jax.random.split(rng_key)
        warmup = blackjax.window_adaptation(
            blackjax.nuts,
            logdensity,
            target_acceptance_rate=self.target_accept,
            max_num_doublings=self.max_tree_depth,
        )
        (state, parameters), warm_info = warmup.run(k_warm, position, num_steps=self.num_warmup)
        kernel = blackjax.nuts(logdensity, **parameters)

        def one_step(state, key):
            state, info = kernel.step(key, state)
            return state, (state.position, info.is_divergent, info.num_integration_steps)

        _, (positions, divergent, steps) = jax.lax.scan(
            one_step, state, jax.random.split(k_run, self.num_steps)
        )
        _, g, in_set = jax.vmap(target.terms)(positions)
        grad_evals = jnp.sum(steps) + jnp.sum(warm_info.info.num_integration_steps)
        return positions, g, in_set, jnp.sum(divergent), grad_evals

    # -- driver hooks -------------------------------------------------------------------
    def progress_total(self, num_samples):
        return self.num_stages

    def start(self, target, rng_key, num_samples, num_chains):
        k_init, k_run = jax.random.split(rng_key)
        u, g0, _ = target.jit(
            lambda t: partial(initial_population, t, num_particles=num_chains), ("initial", num_chains)
        )(k_init)
        stage = target.jit(lambda t: jax.vmap(partial(self.stage, t), in_axes=(0, 0, None)), ("anneal-stage", self))
        return _Run(target, stage, self.betas(), jax.random.split(k_run, num_chains), u, g0, num_samples, num_chains)

    def stop(self, run):
        if len(run.stats) < len(run.betas):
            return None
        # at the last beta, sample on while a chain has fewer draws in S than asked
        if np.all(np.sum(np.concatenate(run.draws_in, axis=1), axis=1) >= run.per_chain):
            return "done"
        if len(run.draws_in) > self.max_extra_rounds:
            return "max_extra_rounds"
        return None

    def advance(self, run, index):
        num_chains, betas = run.num_chains, run.betas
        beta = betas[min(index, len(betas) - 1)]
        keys = shard_chains(jax.vmap(jax.random.fold_in, in_axes=(0, None))(run.chain_keys, index), num_chains)
        out = run.stage(keys, shard_chains(run.position, num_chains), jnp.asarray(beta, jnp.float32))
        positions, g, in_set, divergent, evals = jax.device_get(out)
        run.position = positions[:, -1]
        run.grad_evals += int(np.sum(evals, dtype=np.int64))
        if index < len(betas):
            run.mean_g.append(np.mean(np.asarray(g, dtype=np.float64), axis=1))
            run.stats.append({"beta": beta, "fraction_in_set": np.mean(in_set, axis=1), "num_divergent": divergent})
            run.draws_u, run.draws_in = [positions], [in_set]
        else:
            run.draws_u.append(positions)
            run.draws_in.append(in_set)
        return run, (beta, in_set)

    def progress(self, run, info):
        beta, in_set = info
        return len(run.stats), dict(beta=f"{beta:.3g}", in_S=f"{float(np.mean(in_set)):.2f}")

    def finish(self, run, stop_reason):
        mean_g, stats, per_chain = run.mean_g, run.stats, run.per_chain
        if not stats:
            return Infeasible(f"stopped by {stop_reason} before the first stage", 0.0)
        # interrupted runs keep the stages they completed: draws in S at any beta are
        # draws from the prior restricted to S, and the integral runs to the last beta reached
        betas = run.betas[: len(stats)]
        u_all, in_all = np.concatenate(run.draws_u, axis=1), np.concatenate(run.draws_in, axis=1)
        counts = in_all.sum(axis=1)
        if counts.max() == 0:
            return Infeasible(
                f"no draw of any chain reached S at beta = {betas[-1]:.3g}",
                float(log_volume_from_chains(self._log_z(betas, mean_g))[0]),
            )
        keep = int(min(per_chain, counts.min()))
        if keep == 0:
            return Infeasible(
                f"{int(np.sum(counts == 0))} of {len(counts)} chains never reached S; "
                "more stages, steps or a larger beta schedule may help",
                float(log_volume_from_chains(self._log_z(betas, mean_g))[0]),
            )
        idx = np.stack([np.flatnonzero(row)[:keep] for row in in_all])
        u = np.take_along_axis(u_all, idx[:, :, None], axis=1)
        params = run.target.constrain_draws(jnp.asarray(u))
        fraction = stats[-1]["fraction_in_set"]
        with np.errstate(divide="ignore"):
            chain_log_volume = self._log_z(betas, mean_g) + np.log(fraction)
        log_volume, log_volume_se = log_volume_from_chains(chain_log_volume)
        per_stage = ("chain", "stage")
        return Result(
            posterior={k: np.asarray(v) for k, v in params.items()},
            sample_stats={"in_set": np.ones(idx.shape, dtype=bool)},
            log_volume=log_volume,
            log_volume_se=log_volume_se,
            complete=keep == per_chain and len(stats) == len(run.betas),
            note=(
                f"{len(stats)} of {len(run.betas)} stages; the poorest chain has {keep} draws in S "
                f"of the {per_chain} asked per chain"
            ),
            structure="chains",
            attrs={
                "log_volume_method": "thermodynamic integration over the schedule + log fraction in S",
                "num_stages": len(betas),
                "num_grad_evals": run.grad_evals,
                "num_distinct": count_distinct_rows(u.reshape(-1, u.shape[-1])),
                **log_volume_attrs(chain_log_volume),
            },
            stages={
                "beta": (("stage",), betas),
                "fraction_in_set": (per_stage, np.stack([s["fraction_in_set"] for s in stats], axis=1)),
                "mean_penalty": (per_stage, np.stack(mean_g[1:], axis=1)),
                "num_divergent": (per_stage, np.stack([s["num_divergent"] for s in stats], axis=1)),
                "log_volume": (("chain",), chain_log_volume),
            },
        )

    @staticmethod
    def _log_z(betas, mean_g) -> np.ndarray:
        """Per-chain ``-int_0^beta_K E_beta[g] d beta``.

        ``[0, beta_1]`` by the trapezoid rule in beta; the rest as
        ``int beta E_beta[g] d log beta`` by the trapezoid rule in ``log beta``, which is
        accurate on geometric schedules where ``E_beta[g]`` falls like ``1 / beta``.
        """
        curve = np.stack(mean_g, axis=1)  # (chain, stage + 1); column 0 is the prior
        first = 0.5 * (curve[:, 0] + curve[:, 1]) * betas[0]
        integrand = betas * curve[:, 1:]
        rest = np.sum(0.5 * (integrand[:, 1:] + integrand[:, :-1]) * np.diff(np.log(betas)), axis=1)
        return -(first + rest)


class _Run:
    """Host-side record of one annealing run."""

    def __init__(self, target, stage, betas, chain_keys, u, g0, num_samples, num_chains):
        self.target, self.stage, self.betas, self.chain_keys = target, stage, betas, chain_keys
        self.position, self.num_chains, self.per_chain = u, num_chains, num_samples // num_chains
        self.mean_g, self.stats, self.grad_evals = [np.asarray(g0, dtype=np.float64)], [], 0
        self.draws_u, self.draws_in = [], []
