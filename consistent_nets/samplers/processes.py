"""Samplers over several processes: which run as they are, and ``rejection`` in rounds.

``smc`` runs unchanged: its populations are split over the devices of every process by
:func:`.population.shard_chains` and gathered by :func:`.distributed.device_get`.

``rejection`` draws chunks of prior draws until enough lie in S. One process draws
chunks ``0, 1, 2, ...`` (chunk ``i`` from ``fold_in(key, i)``) and stops before the
first chunk at which it already has ``num_samples`` draws in S (or its draw budget is
spent). Over ``P`` processes, round ``r`` has process ``p`` draw chunk ``r P + p``; the
counts of draws in S are gathered and walked in chunk order with the same stopping
rule, so the chunks used are exactly one process's chunks ``0 .. K - 1`` (the few
drawn past ``K`` in the last round are discarded), and at the end the accepted draws
are gathered in chunk order. Draws, counts and volume estimate are those of one process.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

from . import distributed
from .base import Sampler, prior_chunks
from .rejection import Rejection

__all__ = ["over_processes", "RejectionOverProcesses"]


def over_processes(sampler: Sampler) -> Sampler:
    """The sampler that runs ``sampler`` over every process; itself with one process.

    Raises ``ValueError`` (before anything is compiled) for a method that does not run
    across processes.
    """
    if not distributed.is_distributed():
        return sampler
    distributed.check_method(sampler.name)
    if isinstance(sampler, Rejection):
        return RejectionOverProcesses(sampler)
    return sampler


@dataclass(frozen=True)
class RejectionOverProcesses(Sampler):
    """:class:`.Rejection` with its chunks dealt round-robin over processes (module docstring)."""

    base: Rejection
    name = "rejection"
    unit = "draw"

    def validate(self):
        self.base.validate()

    def budget(self):
        return self.base.budget()

    def progress_total(self, num_samples):
        return self.base.progress_total(num_samples)

    def start(self, target, rng_key, num_samples, num_chains):
        run = self.base.start(target, rng_key, num_samples, num_chains)
        rank, size = jax.process_index(), jax.process_count()
        run.chunks = prior_chunks(target, rng_key, run.chunk, first=rank, every=size)
        run.rounds = []  # per round: draws in S of each chunk used, in chunk order
        run.mine = []  # this process's accepted draws of the chunks used
        return run

    def stop(self, run):
        return self.base.stop(run)

    def advance(self, run, stage):
        _, params, in_set = next(run.chunks)
        idx = np.flatnonzero(np.asarray(in_set))
        counts = distributed.allgather(np.int64(idx.size))
        used = []
        for p, count in enumerate(counts):
            if self.base.stop(run) is not None:  # one process would stop before this chunk
                break
            run.num_draws += run.chunk
            run.num_accepted += int(count)
            used.append(int(count))
            if p == jax.process_index() and idx.size:
                run.mine.append({k: np.asarray(v[idx]) for k, v in params.items()})
        run.rounds.append(used)
        return run, None

    def progress(self, run, info):
        return self.base.progress(run, info)

    def finish(self, run, stop_reason):
        if run.num_accepted:
            run.kept = _gather_in_chunk_order(run.mine, run.rounds, run.target.site_shapes)
        return self.base.finish(run, stop_reason)


def _gather_in_chunk_order(mine, rounds, site_shapes) -> list[dict]:
    """Every process's accepted draws, as one list of per-chunk draws in chunk order."""
    size = jax.process_count()
    per_process = np.zeros(size, dtype=np.int64)
    for used in rounds:
        for p, count in enumerate(used):
            per_process[p] += count
    longest = int(per_process.max())
    dtype = jax.dtypes.canonicalize_dtype(np.float64)  # what the prior draws are (float32 unless x64)
    gathered = {}
    for name, shape in site_shapes.items():
        local = np.concatenate([m[name] for m in mine]) if mine else np.zeros((0, *shape), dtype)
        padded = np.zeros((longest, *shape), dtype=dtype)
        padded[: len(local)] = local
        gathered[name] = distributed.allgather(padded)  # (process, longest, ...)
    cursor = np.zeros(size, dtype=np.int64)
    chunks = []
    for used in rounds:
        for p, count in enumerate(used):
            if count:
                sl = slice(cursor[p], cursor[p] + count)
                chunks.append({name: g[p, sl] for name, g in gathered.items()})
                cursor[p] += count
    return chunks
