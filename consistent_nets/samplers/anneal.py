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

import warnings
from dataclasses import dataclass
from functools import partial

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from .._errors import InfeasibleError
from ..output import build_tree
from .base import Sampler, check_fraction, check_positive_int
from .population import distinct_rows, initial_population, log_volume_from_chains, shard_chains
from .progress import progress
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
    """

    schedule: Schedule | None = None
    num_stages: int = 30
    num_warmup: int = 100
    num_steps: int = 50
    max_tree_depth: int = 6
    target_accept: float = 0.8
    max_extra_rounds: int = 20
    name = "anneal"

    def betas(self) -> np.ndarray:
        schedule = self.schedule or geometric_schedule(1e-3, 1e4, self.num_stages)
        return schedule_values(schedule, self.num_stages)

    def validate(self):
        check_positive_int("num_stages", self.num_stages)
        check_positive_int("num_warmup", self.num_warmup)
        check_positive_int("num_steps", self.num_steps)
        check_positive_int("max_tree_depth", self.max_tree_depth)
        check_positive_int("max_extra_rounds", self.max_extra_rounds, minimum=0)
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

    def run(self, target, rng_key, num_samples, num_chains, progress_bar):
        betas = self.betas()
        per_chain = num_samples // num_chains
        k_init, k_run = jax.random.split(rng_key)
        u, g0, _ = target.jit(
            lambda t: partial(initial_population, t, num_particles=num_chains), ("initial", num_chains)
        )(k_init)
        stage = target.jit(lambda t: jax.vmap(partial(self.stage, t), in_axes=(0, 0, None)), ("anneal-stage", self))
        chain_keys = jax.random.split(k_run, num_chains)
        mean_g, stats, grad_evals = [np.asarray(g0, dtype=np.float64)], [], 0
        bar = progress(progress_bar, total=len(betas), desc="anneal", unit="stage")

        def run_stage(index, position, beta):
            keys = shard_chains(jax.vmap(jax.random.fold_in, in_axes=(0, None))(chain_keys, index), num_chains)
            out = jax.device_get(stage(keys, shard_chains(position, num_chains), jnp.asarray(beta, jnp.float32)))
            return out

        position = u
        for index, beta in enumerate(betas):
            positions, g, in_set, divergent, evals = run_stage(index, position, beta)
            position = positions[:, -1]
            grad_evals += int(np.sum(evals, dtype=np.int64))
            mean_g.append(np.mean(np.asarray(g, dtype=np.float64), axis=1))
            stats.append({"beta": beta, "fraction_in_set": np.mean(in_set, axis=1), "num_divergent": divergent})
            bar.update(1)
            bar.set_postfix(beta=f"{beta:.3g}", in_S=f"{float(np.mean(in_set)):.2f}")
        bar.close()
        # at the last beta, sample on while a chain has fewer draws in S than asked
        draws_u, draws_in = [positions], [in_set]
        for extra in range(self.max_extra_rounds):
            if np.all(np.sum(np.concatenate(draws_in, axis=1), axis=1) >= per_chain):
                break
            positions, _, in_set, _, evals = run_stage(len(betas) + extra, position, betas[-1])
            position = positions[:, -1]
            grad_evals += int(np.sum(evals, dtype=np.int64))
            draws_u.append(positions)
            draws_in.append(in_set)
        u_all, in_all = np.concatenate(draws_u, axis=1), np.concatenate(draws_in, axis=1)
        return self._tree(target, betas, mean_g, stats, u_all, in_all, per_chain, grad_evals)

    def _tree(self, target, betas, mean_g, stats, u_all, in_all, per_chain, grad_evals):
        counts = in_all.sum(axis=1)
        if counts.max() == 0:
            raise InfeasibleError(
                f"anneal: no draw of any chain reached S at beta = {betas[-1]:.3g}",
                float(log_volume_from_chains(self._log_z(betas, mean_g))[0]),
            )
        keep = int(min(per_chain, counts.min()))
        if keep == 0:
            raise InfeasibleError(
                f"anneal: {int(np.sum(counts == 0))} of {len(counts)} chains never reached S; "
                "more stages, steps or a larger beta schedule may help",
                float(log_volume_from_chains(self._log_z(betas, mean_g))[0]),
            )
        if keep < per_chain:
            warnings.warn(
                f"anneal: the poorest chain has {keep} draws in S, fewer than the {per_chain} asked per chain",
                RuntimeWarning,
                stacklevel=4,
            )
        idx = np.stack([np.flatnonzero(row)[:keep] for row in in_all])
        u = np.take_along_axis(u_all, idx[:, :, None], axis=1)
        params = jax.vmap(jax.vmap(target.constrain))(jnp.asarray(u))
        fraction = stats[-1]["fraction_in_set"]
        with np.errstate(divide="ignore"):
            chain_log_volume = self._log_z(betas, mean_g) + np.log(fraction)
        log_volume, log_volume_se = log_volume_from_chains(chain_log_volume)
        stages = xr.Dataset(
            {
                "beta": ("stage", betas),
                "fraction_in_set": (("chain", "stage"), np.stack([s["fraction_in_set"] for s in stats], axis=1)),
                "mean_penalty": (("chain", "stage"), np.stack(mean_g[1:], axis=1)),
                "num_divergent": (("chain", "stage"), np.stack([s["num_divergent"] for s in stats], axis=1)),
                "log_volume": ("chain", chain_log_volume),
            }
        )
        return build_tree(
            {k: np.asarray(v) for k, v in params.items()},
            {"in_set": np.ones(idx.shape, dtype=bool)},
            {
                "method": self.name,
                "log_volume": log_volume,
                "log_volume_se": log_volume_se,
                "log_volume_method": "thermodynamic integration over the schedule + log fraction in S",
                "num_stages": len(betas),
                "num_grad_evals": grad_evals,
                "num_distinct": distinct_rows(jnp.asarray(u)),
                "complete": keep == per_chain,
            },
            {"anneal_stages": stages},
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
