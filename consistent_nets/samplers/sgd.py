"""The folk heuristic: initialise from the prior, train until 100 % fit, keep.

It returns draws in S, but not uniformly distributed on S: the optimiser's implicit
bias decides where each run lands. It exists as the baseline that
:func:`consistent_nets.diagnose` must be able to flag.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
from numpyro.distributions import constraints

from .._checks import check_int, check_positive_float
from .base import Sampler, chunk_size_for
from .result import Infeasible, Result, split_chains

__all__ = ["SGD"]


def _projection(target):
    """Clip each site to its support: a box prior keeps trained weights in the box.

    Supports are read through NumPyro's public constraint attributes: ``independent``
    wrappers expose ``base_constraint``; intervals and half-lines expose
    ``lower_bound`` and/or ``upper_bound``.
    """
    bounds = {}
    for name, transform in target.transforms.items():
        support = transform.codomain
        while hasattr(support, "base_constraint"):
            support = support.base_constraint
        lower, upper = getattr(support, "lower_bound", None), getattr(support, "upper_bound", None)
        if lower is not None or upper is not None:
            bounds[name] = (lower, upper)
        elif support is not constraints.real:
            raise ValueError(
                f"method 'sgd' needs real, interval or half-line supports; site {name!r} has {support}"
            )

    def project(params):
        return {k: jnp.clip(v, *bounds[k]) if k in bounds else v for k, v in params.items()}

    return project


@dataclass(frozen=True)
class SGD(Sampler):
    """Random init from the prior, Adam on the training loss until every point fits.

    Parameters
    ----------
    learning_rate : float
        Adam step size (default 0.01).
    max_steps : int
        Training steps per run before it counts as a failure (default 2000).
    max_inits : int
        Budget of runs; fewer successes than asked by then returns what succeeded
        (default ``20 * num_samples`` at least 1024).
    max_seconds : float or None
        Wall-clock budget (default 60 s), checked between batches of runs; ``None``
        for none. A run that stops on time is not reproducible run for run;
        ``attrs["stop_reason"]`` says which budget ended it.
    batch_size : int, optional
        Training runs vectorised together.

    Notes
    -----
    With no successful run by the end of the budget it raises :class:`InfeasibleError`
    (with the trivial bound ``log vol(S) <= 0``: SGD measures no volume); with some but
    too few it returns them with a ``RuntimeWarning`` and ``attrs["complete"] == 0``.
    """

    learning_rate: float = 0.01
    max_steps: int = 2000
    max_inits: int | None = None
    batch_size: int | None = None
    max_seconds: float | None = 60.0
    name = "sgd"

    def validate(self):
        check_positive_float("learning_rate", self.learning_rate)
        check_int("max_steps", self.max_steps)
        if self.max_inits is not None:
            check_int("max_inits", self.max_inits)
        if self.batch_size is not None:
            check_int("batch_size", self.batch_size)
        check_positive_float("max_seconds", self.max_seconds, allow_none=True)

    def _train_fn(self, target):
        project = _projection(target)
        optimiser = optax.adam(self.learning_rate)
        loss_grad = jax.value_and_grad(target.training_loss)
        max_steps = self.max_steps

        def train_one(rng_key):
            params, _ = target.prior_draw(rng_key)
            state = optimiser.init(params)

            def cond(carry):
                _, _, step, done = carry
                return (~done) & (step < max_steps)

            def body(carry):
                params, state, step, _ = carry
                _, grads = loss_grad(params)
                updates, state = optimiser.update(grads, state, params)
                params = project(optax.apply_updates(params, updates))
                return params, state, step + 1, target.in_set_params(params)

            done0 = target.in_set_params(params)
            params, _, steps, done = jax.lax.while_loop(cond, body, (params, state, 0, done0))
            return params, done, steps, target.training_loss(params)

        return jax.vmap(train_one)

    # -- driver hooks -------------------------------------------------------------------
    unit = "draw"

    def progress_total(self, num_samples):
        return num_samples

    def start(self, target, rng_key, num_samples, num_chains):
        batch = self.batch_size or min(chunk_size_for(target, cap=4096), max(num_samples, 64))
        train = target.jit(self._train_fn, ("sgd-train", self))
        return _Run(target, train, rng_key, batch, self.max_inits or max(1024, 20 * num_samples), num_samples, num_chains)

    def stop(self, run):
        if run.num_ok >= run.needed:
            return "complete"
        if run.num_inits >= run.max_inits:
            return "max_inits"
        return None

    def advance(self, run, stage):
        size = min(run.batch, run.max_inits - run.num_inits)
        keys = jax.random.split(jax.random.fold_in(run.rng_key, stage), size)
        params, done, steps, loss = run.train(keys)
        ok = np.flatnonzero(np.asarray(done))
        run.kept.append({k: np.asarray(v)[ok] for k, v in params.items()})
        run.stats.append((np.asarray(steps)[ok], np.asarray(loss)[ok]))
        run.grad_evals += int(np.sum(np.asarray(steps), dtype=np.int64))  # every run, failed ones too
        run.num_inits += size
        run.num_ok += ok.size
        return run, None

    def progress(self, run, info):
        return min(run.num_ok, run.needed), {"success": f"{run.num_ok / run.num_inits:.2%}"}

    def finish(self, run, stop_reason):
        if run.num_ok == 0:
            return Infeasible(
                f"none of {run.num_inits} training runs reached 100 % fit in {self.max_steps} "
                f"steps (stopped by {stop_reason})",
                # SGD says nothing about volume; the only bound is the trivial one.
                0.0,
            )
        needed = run.needed
        draws = {k: np.concatenate([c[k] for c in run.kept])[:needed] for k in run.target.site_shapes}
        steps = np.concatenate([s for s, _ in run.stats])[:needed]
        loss = np.concatenate([l for _, l in run.stats])[:needed]
        chains = max(1, min(run.num_chains, len(steps)))
        posterior = split_chains(draws, chains)
        sample_stats = split_chains({"train_steps": steps, "train_loss": loss}, chains)
        sample_stats["in_set"] = np.ones(sample_stats["train_steps"].shape, dtype=bool)
        return Result(
            posterior=posterior,
            sample_stats=sample_stats,
            # the heuristic estimates no volume: NaN, stated in log_volume_note
            log_volume=float("nan"),
            log_volume_se=float("nan"),
            complete=run.num_ok >= needed,
            note=(
                f"after {run.num_inits} runs with {run.num_ok} of {needed} successes; returning "
                f"{chains * (run.num_ok // chains)} of them as {chains} chains"
            ),
            attrs={
                "log_volume_note": "the SGD heuristic gives no estimate of vol(S)",
                "success_rate": run.num_ok / run.num_inits,
                "num_inits": run.num_inits,
                "num_grad_evals": run.grad_evals,
                "learning_rate": self.learning_rate,
                "max_steps": self.max_steps,
            },
        )


class _Run:
    """Host-side record of one SGD-heuristic run."""

    def __init__(self, target, train, rng_key, batch, max_inits, needed, num_chains):
        self.target, self.train, self.rng_key, self.batch = target, train, rng_key, batch
        self.max_inits, self.needed, self.num_chains = max_inits, needed, num_chains
        self.kept, self.stats, self.num_inits, self.num_ok, self.grad_evals = [], [], 0, 0, 0
