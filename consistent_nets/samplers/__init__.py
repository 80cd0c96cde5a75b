"""The sampling methods. Each is a small frozen config object with ``run(target, ...)``."""

from .base import Sampler
from .rejection import Rejection
from .sgd import SGD
from .smc import SMC

#: method name -> sampler class; ``cn.sample(method=name)`` uses the defaults.
SAMPLERS: dict[str, type[Sampler]] = {
    "smc": SMC,
    "rejection": Rejection,
    "sgd": SGD,
}

__all__ = ["Sampler", "Rejection", "SGD", "SMC", "SAMPLERS"]
