"""Annealing schedules: plain callables ``stage -> beta``, as optax schedules are."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["Schedule", "geometric_schedule", "linear_schedule", "schedule_values"]

#: A schedule maps a stage index ``0, 1, ..., num_stages - 1`` to an inverse temperature.
Schedule = Callable[[int], float]


def geometric_schedule(beta_min: float = 1e-3, beta_max: float = 1e4, num_stages: int = 30) -> Schedule:
    """``beta_k = beta_min * (beta_max / beta_min) ** (k / (num_stages - 1))``.

    Examples
    --------
    >>> schedule = geometric_schedule(1e-2, 1e2, num_stages=5)
    >>> [round(schedule(k), 6) for k in range(5)]
    [0.01, 0.1, 1.0, 10.0, 100.0]
    """
    if not (0 < beta_min < beta_max) or not math.isfinite(beta_max):
        raise ValueError(f"beta_min, beta_max must satisfy 0 < beta_min < beta_max < inf, got {beta_min}, {beta_max}")
    if num_stages < 2:
        raise ValueError(f"num_stages must be >= 2, got {num_stages}")
    ratio = math.log(beta_max / beta_min) / (num_stages - 1)
    return lambda k: float(beta_min * math.exp(ratio * k))


def linear_schedule(beta_max: float = 1e3, num_stages: int = 30) -> Schedule:
    """``beta_k = beta_max * (k + 1) / num_stages``."""
    if not (0 < beta_max < math.inf):
        raise ValueError(f"beta_max must be a finite number > 0, got {beta_max}")
    if num_stages < 1:
        raise ValueError(f"num_stages must be >= 1, got {num_stages}")
    return lambda k: float(beta_max * (k + 1) / num_stages)


def schedule_values(schedule: Schedule, num_stages: int) -> np.ndarray:
    """Evaluate and check a schedule: finite, ``> 0`` and non-decreasing."""
    if not callable(schedule):
        raise ValueError(f"schedule must be a callable stage -> beta, got {type(schedule).__name__}")
    values = np.array([float(schedule(k)) for k in range(num_stages)], dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError("schedule must give finite betas > 0")
    if np.any(np.diff(values) < 0):
        raise ValueError("schedule must be non-decreasing")
    return values
