"""Exact rejection sampling: prior draws kept when they lie in S."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import check_int, check_positive_float
from .base import Sampler, chunk_size_for, prior_chunks
from .result import Infeasible, Result, split_chains

__all__ = ["Rejection", "rejection_log_volume"]


def rejection_log_volume(num_accepted: int, num_draws: int) -> tuple[float, float]:
    """``log(k / n)`` and its delta-method standard error ``sqrt((1 - p) / k)``."""
    p = num_accepted / num_draws
    return math.log(p), math.sqrt((1.0 - p) / num_accepted)


def log_upper_bound_no_success(num_draws: int, level: float = 0.05) -> float:
    """One-sided ``1 - level`` upper bound on log p after ``num_draws`` failures
    (0, i.e. p <= 1, after none: a run stopped before its first draw knows nothing)."""
    if num_draws == 0:
        return 0.0
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
        check_int("max_draws", self.max_draws)
        check_positive_float("max_seconds", self.max_seconds, allow_none=True)
        if self.chunk_size is not None:
            check_int("chunk_size", self.chunk_size)

    # -- driver hooks -------------------------------------------------------------------
    unit = "draw"

    def progress_total(self, num_samples):
        return num_samples

    def start(self, target, rng_key, num_samples, num_chains):
        chunk = min(self.chunk_size or chunk_size_for(target), self.max_draws)
        return _Run(target, prior_chunks(target, rng_key, chunk), chunk, num_samples, num_chains)

    def stop(self, run):
        if run.num_accepted >= run.needed:
            return "complete"
        if run.num_draws + run.chunk > self.max_draws:
            return "max_draws"
        return None

    def advance(self, run, stage):
        _, params, in_set = next(run.chunks)
        idx = np.flatnonzero(np.asarray(in_set))
        run.num_draws += run.chunk
        if idx.size:
            run.kept.append({k: np.asarray(v[idx]) for k, v in params.items()})
            run.num_accepted += idx.size
        return run, None

    def progress(self, run, info):
        return min(run.num_accepted, run.needed), {"acceptance": f"{run.num_accepted / run.num_draws:.2e}"}

    def finish(self, run, stop_reason):
        if run.num_draws == 0:
            return Infeasible(f"stopped by {stop_reason} before the first prior draw", 0.0)
        if run.num_accepted == 0:
            return Infeasible(
                f"no prior draw out of {run.num_draws} lies in S (stopped by {stop_reason}; 95 % upper bound)",
                log_upper_bound_no_success(run.num_draws),
            )
        needed = run.needed
        log_volume, log_volume_se = rejection_log_volume(run.num_accepted, run.num_draws)
        draws = {k: np.concatenate([c[k] for c in run.kept])[:needed] for k in run.target.site_shapes}
        num_kept = len(next(iter(draws.values())))
        chains = max(1, min(run.num_chains, num_kept))
        posterior = split_chains(draws, chains)
        shape = next(iter(posterior.values())).shape[:2]
        return Result(
            posterior=posterior,
            sample_stats={"in_set": np.ones(shape, dtype=bool)},
            log_volume=log_volume,
            log_volume_se=log_volume_se,
            complete=run.num_accepted >= needed,
            note=(
                f"after {run.num_draws} prior draws with {run.num_accepted} of {needed} draws in S; "
                f"returning {shape[0] * shape[1]} of them as {shape[0]} chains"
            ),
            attrs={
                "num_prior_draws": run.num_draws,
                "num_accepted": run.num_accepted,
                "acceptance_rate": run.num_accepted / run.num_draws,
                # the SE comes from a Poisson-like count k: as a variance estimate it is
                # as certain as a chi-square with 2k degrees of freedom (CV sqrt(1/k))
                "log_volume_se_dof": 2 * run.num_accepted,
            },
        )


class _Run:
    """Host-side record of one rejection run."""

    def __init__(self, target, chunks, chunk, needed, num_chains):
        self.target, self.chunks, self.chunk, self.needed, self.num_chains = target, chunks, chunk, needed, num_chains
        self.kept, self.num_draws, self.num_accepted = [], 0, 0
