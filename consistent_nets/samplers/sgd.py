"""The folk heuristic: initialise from the prior, train until 100 % fit, keep.

It returns draws in S, but not uniformly distributed on S: the optimiser's implicit
bias decides where each run lands. It exists as the baseline that
:func:`consistent_nets.diagnose` must be able to flag.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
from numpyro.distributions import constraints

from .._errors import InfeasibleError
from ..output import build_tree, split_chains
from .base import Sampler, check_positive_float, check_positive_int, chunk_size_for
from .progress import progress

__all__ = ["SGD"]


def _projection(target):
    """Clip each site to its support: a box prior keeps trained weights in the box."""
    bounds = {}
    for name, transform in target.transforms.items():
        support = transform.codomain
        while isinstance(support, constraints._IndependentConstraint):
            support = support.base_constraint
        if isinstance(support, constraints._Interval):
            bounds[name] = (support.lower_bound, support.upper_bound)
        elif support is not constraints.real:
            raise ValueError(
                f"method 'sgd' needs real or interval supports; site {name!r} has {support}"
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
        check_positive_int("max_steps", self.max_steps)
        if self.max_inits is not None:
            check_positive_int("max_inits", self.max_inits)
        if self.batch_size is not None:
            check_positive_int("batch_size", self.batch_size)
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

    def run(self, target, rng_key, num_samples, num_chains, progress_bar):
        batch = self.batch_size or min(chunk_size_for(target, cap=4096), max(num_samples, 64))
        max_inits = self.max_inits or max(1024, 20 * num_samples)
        train = target.jit(self._train_fn, ("sgd-train", self))
        kept, stats, num_inits, num_ok, index, grad_evals = [], [], 0, 0, 0, 0
        stop_reason = "complete"
        start = time.perf_counter()
        bar = progress(progress_bar, total=num_samples, desc="sgd", unit="draw")
        while num_ok < num_samples:
            if num_inits >= max_inits:
                stop_reason = "max_inits"
                break
            if self.max_seconds is not None and time.perf_counter() - start > self.max_seconds:
                stop_reason = "max_seconds"
                break
            size = min(batch, max_inits - num_inits)
            keys = jax.random.split(jax.random.fold_in(rng_key, index), size)
            params, done, steps, loss = train(keys)
            ok = np.flatnonzero(np.asarray(done))
            kept.append({k: np.asarray(v)[ok] for k, v in params.items()})
            stats.append((np.asarray(steps)[ok], np.asarray(loss)[ok]))
            grad_evals += int(np.sum(np.asarray(steps), dtype=np.int64))  # every run, failed ones too
            num_inits += size
            num_ok += ok.size
            index += 1
            bar.update(min(ok.size, num_samples - bar.n))
            bar.set_postfix(success=f"{num_ok / num_inits:.2%}")
        bar.close()
        if num_ok == 0:
            raise InfeasibleError(
                f"sgd: none of {num_inits} training runs reached 100 % fit in {self.max_steps} "
                f"steps (stopped by {stop_reason})",
                # SGD says nothing about volume; the only bound is the trivial one.
                0.0,
            )
        if num_ok < num_samples:
            chains = max(1, min(num_chains, num_ok))
            warnings.warn(
                f"sgd budget ({stop_reason}) exhausted after {num_inits} runs with {num_ok} of "
                f"{num_samples} successes; returning {chains * (num_ok // chains)} of them as "
                f"{chains} chains (attrs['complete'] = 0)",
                RuntimeWarning,
                stacklevel=3,
            )
        draws = {k: np.concatenate([c[k] for c in kept])[:num_samples] for k in target.site_shapes}
        steps = np.concatenate([s for s, _ in stats])[:num_samples]
        loss = np.concatenate([l for _, l in stats])[:num_samples]
        chains = max(1, min(num_chains, len(steps)))
        posterior = split_chains(draws, chains)
        sample_stats = split_chains({"train_steps": steps, "train_loss": loss}, chains)
        sample_stats["in_set"] = np.ones(sample_stats["train_steps"].shape, dtype=bool)
        return build_tree(
            posterior,
            sample_stats,
            {
                "method": self.name,
                # the heuristic estimates no volume: NaN, stated in log_volume_note
                "log_volume": float("nan"),
                "log_volume_se": float("nan"),
                "log_volume_note": "the SGD heuristic gives no estimate of vol(S)",
                "success_rate": num_ok / num_inits,
                "num_inits": num_inits,
                "num_grad_evals": grad_evals,
                "learning_rate": self.learning_rate,
                "max_steps": self.max_steps,
                "complete": num_ok >= num_samples,
                "stop_reason": stop_reason,
            },
        )
