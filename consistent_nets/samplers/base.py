"""What every sampler shares: argument checks and the chunked prior sampler."""

from __future__ import annotations

from dataclasses import dataclass

import jax

from .._errors import check_int, check_real

__all__ = ["Sampler", "check_positive_int", "chunk_size_for", "prior_chunks"]


def check_positive_int(name: str, value, minimum: int = 1) -> int:
    """``int(value)`` if an integer ``>= minimum``, else ``ValueError`` naming ``name``."""
    return check_int(name, value, minimum=minimum)


def check_fraction(name: str, value) -> float:
    """``float(value)`` if a number strictly inside (0, 1), else ``ValueError`` naming ``name``."""
    value = check_real(name, value, minimum=0.0, strict=True)
    if not value < 1:
        raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
    return value


def check_positive_float(name: str, value, allow_none: bool = False):
    """``float(value)`` if a finite number ``> 0`` (or ``None`` when allowed), else ``ValueError``."""
    if value is None and allow_none:
        return None
    return check_real(name, value, minimum=0.0, strict=True)


def chunk_size_for(target, bytes_budget: int = 64 * 2**20, cap: int = 2**15) -> int:
    """How many parallel evaluations fit in ``bytes_budget`` (rough, float32)."""
    per_item = 4 * (target.dim + _activation_floats(target))
    return int(max(64, min(cap, bytes_budget // max(per_item, 1))))


def _activation_floats(target) -> int:
    if target.problem is None:
        return 1024
    p = target.problem
    return p.num_data * sum(p.net.sizes[1:])


@dataclass(frozen=True)
class Sampler:
    """Base class of the sampling methods; see :func:`consistent_nets.sample`."""

    name = "sampler"

    def validate(self) -> None:
        """Check the configuration; raise ``ValueError`` naming the bad field."""

    def run(self, target, rng_key, num_samples: int, num_chains: int, progress_bar: bool):
        raise NotImplementedError


def prior_chunks(target, rng_key, chunk: int):
    """Yield ``(index, params, in_set)`` for successive chunks of exact prior draws."""
    draw = target.jit(lambda t: jax.vmap(t.prior_draw), ("prior-draw",))
    index = 0
    while True:
        keys = jax.random.split(jax.random.fold_in(rng_key, index), chunk)
        params, in_set = draw(keys)
        yield index, params, in_set
        index += 1
