"""The sampling methods. Each is a small frozen config object with ``run(target, ...)``."""

from .base import Sampler
from .rejection import Rejection
from .sgd import SGD

#: method name -> sampler class; ``cn.sample(method=name)`` uses the defaults.
SAMPLERS: dict[str, type[Sampler]] = {
    "rejection": Rejection,
    "sgd": SGD,
}

__all__ = ["Sampler", "Rejection", "SGD", "SAMPLERS"]
