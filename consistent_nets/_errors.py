"""Errors raised by consistent-nets, and the argument checks that raise them.

Every ``ValueError`` about a bad argument starts with the argument's name
(``"eps must be a finite number > 0, got -1"``), and is raised before anything is
compiled.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["InfeasibleError", "check_int", "check_real"]


class InfeasibleError(RuntimeError):
    """The solution set S is empty, or no method reached it within its budget.

    Parameters
    ----------
    message : str
        What was tried and what was found.
    log_volume_upper_bound : float
        An upper bound on log vol(S) (natural log of the prior probability of S)
        implied by what was tried, e.g. a 95 % bound from a rejection run with no
        accepted draw, ``-inf`` when S is provably empty (or null), or ``0.0`` when
        what was tried bounds nothing.
    """

    def __init__(self, message: str, log_volume_upper_bound: float):
        self.log_volume_upper_bound = float(log_volume_upper_bound)
        super().__init__(
            f"{message} (log vol(S) <= {self.log_volume_upper_bound:.4g})"
        )

    def __reduce__(self):
        # picklable across processes (the message already carries the bound)
        message = str(self).rsplit(" (log vol(S) <=", 1)[0]
        return (type(self), (message, self.log_volume_upper_bound))


def _is_real(value) -> bool:
    # numpy scalars register as numbers.Real; bool (and np.bool_) are not numbers here
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_real(name: str, value, *, minimum: float = 0.0, strict: bool = True, what: str = "") -> float:
    """``float(value)`` if it is a finite real number ``> minimum`` (``>=`` when not strict).

    Raises ``ValueError`` starting with ``name`` otherwise. ``what`` says whose argument
    it is, e.g. ``"Tube"``.
    """
    bound = f"{'>' if strict else '>='} {minimum:g}"
    owner = f" ({what})" if what else ""
    if not _is_real(value) or not math.isfinite(float(value)):
        raise ValueError(f"{name}{owner} must be a finite number {bound}, got {value!r}")
    value = float(value)
    if value < minimum or (strict and value == minimum):
        raise ValueError(f"{name}{owner} must be a finite number {bound}, got {value!r}")
    return value


def check_int(name: str, value, *, minimum: int = 1, what: str = "") -> int:
    """``int(value)`` if it is an integer ``>= minimum``; ``ValueError`` starting with ``name``."""
    owner = f" ({what})" if what else ""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name}{owner} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def parse_spec(argument: str, spec, kinds: dict, example: str):
    """Build ``kinds[kind](number)`` from a ``"kind:number"`` string such as ``"box:3"``.

    Raises ``ValueError`` starting with ``argument`` when the form or the number is bad.
    """
    kind, _, value = str(spec).partition(":")
    try:
        number = float(value) if value else None
        if kind in kinds and number is not None:
            return kinds[kind](number)
    except ValueError as err:
        raise ValueError(f"{argument} must look like {example}, got {spec!r}: {err}") from None
    raise ValueError(f"{argument} must look like {example}, got {spec!r}")
