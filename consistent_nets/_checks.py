"""Argument checks shared by every layer: each raises ``ValueError`` naming the argument.

The lowest layer of the package: it imports nothing from it. Every message starts with
the argument's name (``"eps must be a finite number > 0, got -1"``), and every check runs
before anything is compiled.
"""

from __future__ import annotations

import math
import numbers

__all__ = [
    "check_int",
    "check_real",
    "check_fraction",
    "check_positive_float",
    "check_level",
    "check_key",
    "concrete",
    "parse_spec",
]


def _is_real(value) -> bool:
    # numpy scalars register as numbers.Real; bool (and np.bool_) are not numbers here
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_real(name: str, value, *, minimum: float = 0.0, strict: bool = True, what: str = "") -> float:
    """``float(value)`` if it is a finite real number ``> minimum`` (``>=`` when not strict).

    Raises ``ValueError`` starting with ``name`` otherwise. ``what`` says whose argument
    it is, e.g. ``"Tube"``.

    Examples
    --------
    >>> check_real("eps", 0.1)
    0.1
    >>> check_real("eps", -1)
    Traceback (most recent call last):
    ...
    ValueError: eps must be a finite number > 0, got -1
    """
    bound = f"{'>' if strict else '>='} {minimum:g}"
    owner = f" ({what})" if what else ""
    if not _is_real(value) or not math.isfinite(float(value)):
        raise ValueError(f"{name}{owner} must be a finite number {bound}, got {value!r}")
    number = float(value)
    if number < minimum or (strict and number == minimum):
        raise ValueError(f"{name}{owner} must be a finite number {bound}, got {value!r}")
    return number


def check_int(name: str, value, *, minimum: int = 1, what: str = "") -> int:
    """``int(value)`` if it is an integer ``>= minimum``; ``ValueError`` starting with ``name``."""
    owner = f" ({what})" if what else ""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name}{owner} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_split(num_samples, num_chains, sampler=None) -> tuple[int, int]:
    """``(num_samples, num_chains)`` as ints, the draws splitting evenly over the chains
    (unless ``sampler`` fixes the draws per population: ``cn.SMC(num_particles=...)``)."""
    num_samples, num_chains = check_int("num_samples", num_samples), check_int("num_chains", num_chains)
    if num_samples < num_chains:
        raise ValueError(f"num_samples ({num_samples}) must be >= num_chains ({num_chains})")
    if num_samples % num_chains and not getattr(sampler, "num_particles", None):
        low = num_samples - num_samples % num_chains
        raise ValueError(
            f"num_samples ({num_samples}) must be a multiple of num_chains ({num_chains}), the draws being "
            f"split evenly between them: e.g. {low} or {low + num_chains}"
        )
    return num_samples, num_chains


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


def check_level(name: str, value, upper: float = 1.0, closed: bool = False) -> float:
    """A significance level in ``(0, upper)`` (``(0, upper]`` when ``closed``)."""
    ok = _is_real(value) and 0 < value and (value <= upper if closed else value < upper)
    if not ok:
        raise ValueError(f"{name} must be a number in (0, {upper:g}{']' if closed else ')'}, got {value!r}")
    return float(value)


def check_key(rng_key, name: str = "rng_key"):
    """A single typed JAX PRNG key (raw ``uint32[2]`` keys are wrapped), or ``ValueError``."""
    import jax
    import numpy as np

    if rng_key is None:
        raise ValueError(f"{name} is required: pass e.g. jax.random.key(0)")
    try:
        key = jax.numpy.asarray(rng_key)
    except TypeError as err:
        raise ValueError(f"{name} must be a JAX PRNG key, got {type(rng_key).__name__}") from err
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(f"{name} must be a single key, got shape {key.shape}")
        return key
    if key.shape == (2,) and key.dtype == np.uint32:
        return jax.random.wrap_key_data(key)
    raise ValueError(f"{name} must be a JAX PRNG key such as jax.random.key(0)")


def concrete(value):
    """``numpy.asarray(value)``, or ``None`` where ``value`` is a JAX tracer (no value yet).

    Checks of values (label domains, finiteness) run on concrete arrays; inside
    ``jit``/``vmap`` only shapes and dtypes are known, and those are checked instead.
    """
    import jax
    import numpy as np

    if isinstance(value, jax.core.Tracer):
        return None
    return np.asarray(value)


def parse_spec(argument: str, spec, kinds: dict, example: str):
    """``kinds[kind](number)`` from a ``"kind:number"`` string such as ``"box:3"``.

    Raises ``ValueError`` starting with ``argument`` for an unknown kind, a missing or
    non-numeric number, or a number the class refuses.

    Examples
    --------
    >>> parse_spec("size", "big:2", {"big": lambda x: 10 * x}, "'big:2'")
    20.0
    >>> parse_spec("size", "huge:2", {"big": lambda x: 10 * x}, "'big:2'")
    Traceback (most recent call last):
    ...
    ValueError: size must look like 'big:2', got 'huge:2'
    """
    kind, _, value = str(spec).partition(":")
    try:
        number = float(value)
    except ValueError:
        number = None
    if kind not in kinds or number is None:
        raise ValueError(f"{argument} must look like {example}, got {spec!r}")
    try:
        return kinds[kind](number)
    except ValueError as err:
        raise ValueError(f"{argument} must look like {example}, got {spec!r}: {err}") from None
