"""The sampler protocol the driver runs, and the chunked prior sampler several methods use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax

from .result import Infeasible, Result

__all__ = ["Sampler", "chunk_size_for", "prior_chunks"]


@dataclass(frozen=True)
class Sampler:
    """Base class of the sampling methods: a frozen configuration and four hooks.

    :func:`consistent_nets.samplers.driver.run` owns the loop, the budgets
    (``max_stages``, ``max_seconds`` fields where a sampler has them), the progress bar,
    Ctrl-C, warnings and ``InfeasibleError``; a sampler only says how to start, advance
    and finish::

        state = sampler.start(target, rng_key, num_samples, num_chains)
        while sampler.stop(state) is None:          # and the budgets allow
            state, info = sampler.advance(state, stage)
        outcome = sampler.finish(state, stop_reason)  # a Result, or Infeasible

    ``state`` is the sampler's own host-side record (its compiled programs, device
    arrays and counters); the pure JAX kernels it calls live in their own modules
    (e.g. :mod:`.tempered` and :mod:`.restricted` for ``smc``). A new sampler is one
    such class registered in :data:`consistent_nets.samplers.SAMPLERS` (or with
    :func:`consistent_nets.extend.register_sampler`).
    """

    name: ClassVar[str] = "sampler"
    #: what one unit of the progress bar counts
    unit: ClassVar[str] = "stage"

    def validate(self) -> None:
        """Check the configuration; raise ``ValueError`` naming the bad field."""

    def check_sizes(self, num_samples: int, num_chains: int) -> None:
        """Check ``num_samples`` and ``num_chains`` against the configuration before anything
        compiles; raise ``ValueError`` naming the argument."""

    def budget(self) -> tuple[int | None, float | None]:
        """``(max_stages, max_seconds)`` for the driver; ``None`` where there is none."""
        return getattr(self, "max_stages", None), getattr(self, "max_seconds", None)

    def progress_total(self, num_samples: int) -> int | None:
        """Length of the progress bar (``None``: unknown, count stages)."""
        return None

    def start(self, target, rng_key, num_samples: int, num_chains: int) -> Any:
        raise NotImplementedError

    def stop(self, state) -> str | None:
        """Why the run is over (e.g. ``"done"``), or ``None`` to go on."""
        raise NotImplementedError

    def advance(self, state, stage: int) -> tuple[Any, Any]:
        """One stage (a tempering step, a chunk of prior draws, a batch of runs)."""
        raise NotImplementedError

    def progress(self, state, info) -> tuple[int, dict]:
        """``(bar position, postfix)`` after a stage."""
        raise NotImplementedError

    def progress_goal(self, state, info) -> tuple[float, float] | None:
        """``(value, target)`` of a quantity growing towards ``target`` stage by stage, from
        which the progress bar estimates an ETA when it has no total (``None``: no ETA)."""
        return None

    def finish(self, state, stop_reason: str) -> Result | Infeasible:
        raise NotImplementedError


def chunk_size_for(target, bytes_budget: int = 64 * 2**20, cap: int = 2**15) -> int:
    """How many parallel evaluations fit in ``bytes_budget`` (rough, float32)."""
    per_item = 4 * (target.dim + _activation_floats(target))
    return int(max(64, min(cap, bytes_budget // max(per_item, 1))))


def _activation_floats(target) -> int:
    if target.problem is None:
        return 1024
    p = target.problem
    return p.num_data * sum(p.net.sizes[1:])


def prior_chunks(target, rng_key, chunk: int, first: int = 0, every: int = 1):
    """Yield ``(index, params, in_set)`` for chunks ``first, first + every, ...`` of exact prior draws.

    Chunk ``i`` is drawn from ``fold_in(rng_key, i)`` alone, so processes that draw
    every ``every``-th chunk (``first`` = their rank) together draw the chunks one
    process draws.
    """
    draw = target.jit(lambda t: jax.vmap(t.prior_draw), ("prior-draw",))
    index = first
    while True:
        keys = jax.random.split(jax.random.fold_in(rng_key, index), chunk)
        params, in_set = draw(keys)
        yield index, params, in_set
        index += every
