"""Exact rejection sampling: prior draws kept when they lie in S."""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np

from .._errors import InfeasibleError
from ..output import build_tree, split_chains
from .base import Sampler, check_positive_float, check_positive_int, chunk_size_for, prior_chunks
from .progress import progress

__all__ = ["Rejection", "rejection_log_volume"]


def rejection_log_volume(num_accepted: int, num_draws: int) -> tuple[float, float]:
    """``log(k / n)`` and its delta-method standard error ``sqrt((1 - p) / k)``."""
    p = num_accepted / num_draws
    return math.log(p), math.sqrt((1.0 - p) / num_accepted)


def log_upper_bound_no_success(num_draws: int, level: float = 0.05) -> float:
    """One-sided ``1 - level`` upper bound on log p after ``num_draws`` failures."""
    return math.log(-math.expm1(math.log(level) / num_draws))


@dataclass(frozen=True)
class Rejection(Sampler):
    """Draw from the prior, keep the draws in S. Exact; the reference on small problems.

    Parameters
    ----------
    max_draws : int
        Budget of prior draws (default 2**24 ≈ 1.7e7). With no accepted draw by then,
        :class:`InfeasibleError` carries the 95 % upper bound ``log(1 - 0.05**(1/n))``
        for the ``n`` draws made.
    max_seconds : float or None
        Wall-clock budget (default 60 s), checked between chunks; ``None`` for none.
        Whichever budget binds first ends the run. Runs that stop on time are not
        reproducible draw for draw (how far they get depends on the machine);
        ``attrs["stop_reason"]`` says which budget ended a run.
    chunk_size : int, optional
        Prior draws evaluated per vectorised call (default: sized to ~64 MiB).

    Notes
    -----
    With too few draws in S by the end of the budget the run returns those it has,
    with a ``RuntimeWarning`` and ``attrs["complete"] == 0``; with none it raises
    :class:`InfeasibleError`.
    """

    max_draws: int = 2**24
    max_seconds: float | None = 60.0
    chunk_size: int | None = None
    name = "rejection"

    def validate(self):
        check_positive_int("max_draws", self.max_draws)
        check_positive_float("max_seconds", self.max_seconds, allow_none=True)
        if self.chunk_size is not None:
            check_positive_int("chunk_size", self.chunk_size)

    def run(self, target, rng_key, num_samples, num_chains, progress_bar):
        chunk = min(self.chunk_size or chunk_size_for(target), self.max_draws)
        needed = num_samples
        kept, num_draws, num_accepted, stop_reason = [], 0, 0, "complete"
        start = time.perf_counter()
        bar = progress(progress_bar, total=needed, desc="rejection", unit="draw")
        for _, params, in_set in prior_chunks(target, rng_key, chunk):
            idx = np.flatnonzero(np.asarray(in_set))
            num_draws += chunk
            if idx.size:
                kept.append({k: np.asarray(v[idx]) for k, v in params.items()})
                num_accepted += idx.size
                bar.update(min(idx.size, needed - bar.n))
            bar.set_postfix(acceptance=f"{num_accepted / num_draws:.2e}")
            if num_accepted >= needed:
                break
            if num_draws + chunk > self.max_draws:
                stop_reason = "max_draws"
                break
            if self.max_seconds is not None and time.perf_counter() - start > self.max_seconds:
                stop_reason = "max_seconds"
                break
        bar.close()
        if num_accepted == 0:
            raise InfeasibleError(
                f"rejection: no prior draw out of {num_draws} lies in S (stopped by "
                f"{stop_reason}; 95 % upper bound)",
                log_upper_bound_no_success(num_draws),
            )
        complete = num_accepted >= needed
        log_volume, log_volume_se = rejection_log_volume(num_accepted, num_draws)
        draws = {k: np.concatenate([c[k] for c in kept])[:needed] for k in target.site_shapes}
        num_kept = len(next(iter(draws.values())))
        chains = max(1, min(num_chains, num_kept))
        posterior = split_chains(draws, chains)
        shape = next(iter(posterior.values())).shape[:2]
        if not complete:
            warnings.warn(
                f"rejection budget ({stop_reason}) exhausted after {num_draws} prior draws "
                f"with {num_accepted} of {needed} draws in S; returning {shape[0] * shape[1]} "
                f"of them as {shape[0]} chains (attrs['complete'] = 0)",
                RuntimeWarning,
                stacklevel=3,
            )
        return build_tree(
            posterior,
            {"in_set": np.ones(shape, dtype=bool)},
            {
                "method": self.name,
                "log_volume": log_volume,
                "log_volume_se": log_volume_se,
                "num_prior_draws": num_draws,
                "num_accepted": num_accepted,
                "acceptance_rate": num_accepted / num_draws,
                "complete": complete,
                "stop_reason": stop_reason,
            },
        )
