"""The sampling methods: frozen configuration objects run by one driver.

Each method is a :class:`~.base.Sampler` subclass (``smc``, ``anneal``, ``rejection``,
``sgd``) whose pure JAX kernels live in their own modules (``tempered`` and
``restricted`` for ``smc``; ``moves`` and ``tempering`` hold the pieces they share).
:func:`.driver.run` runs any of them. A new method is one module with a ``Sampler``
subclass and one line in :data:`SAMPLERS`.
"""

from .anneal import Anneal
from .base import Sampler
from .rejection import Rejection
from .result import Infeasible, Result
from .schedules import Schedule, geometric_schedule, linear_schedule
from .sgd import SGD
from .smc import SMC

#: method name -> sampler class; ``cn.sample(method=name)`` uses the defaults.
SAMPLERS: dict[str, type[Sampler]] = {cls.name: cls for cls in (SMC, Anneal, Rejection, SGD)}

__all__ = [
    "SAMPLERS",
    "SGD",
    "SMC",
    "Anneal",
    "Infeasible",
    "Rejection",
    "Result",
    "Sampler",
    "Schedule",
    "geometric_schedule",
    "linear_schedule",
]
