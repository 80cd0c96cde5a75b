"""The sampling methods. Each is a small frozen config object with ``run(target, ...)``."""

from .base import Sampler
from .rejection import Rejection
from .sgd import SGD
from .smc import SMC
from .anneal import Anneal
from .schedules import Schedule, geometric_schedule, linear_schedule

#: method name -> sampler class; ``cn.sample(method=name)`` uses the defaults.
SAMPLERS: dict[str, type[Sampler]] = {
    "smc": SMC,
    "anneal": Anneal,
    "rejection": Rejection,
    "sgd": SGD,
}

__all__ = [
    "Sampler",
    "Rejection",
    "SGD",
    "SMC",
    "Anneal",
    "SAMPLERS",
    "Schedule",
    "geometric_schedule",
    "linear_schedule",
]
