"""Extension points: targets for custom samplers, the sampler protocol and its registry.

A sampler is a frozen dataclass subclassing :class:`Sampler` with ``start``, ``stop``,
``advance`` and ``finish`` hooks (see its docstring); :func:`register_sampler` makes it
available as ``cn.sample(..., method=name)``. It works on a :class:`Target`, the pure
functions of a flat unconstrained vector that every built-in sampler uses
(:func:`make_target` builds one from a ``cn.Problem`` or a NumPyro model), and returns a
:class:`Result` (or :class:`Infeasible`), which the library turns into the same DataTree
as every other method. ``docs/architecture.md`` describes the layers.

Examples
--------
>>> import consistent_nets as cn
>>> from consistent_nets.extend import make_target
>>> X, y = cn.datasets.xor()
>>> target = make_target(cn.Problem(cn.MLP([2, 3, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.0)))
>>> target.dim
13
"""

from ._target import Target, make_target
from .samplers import SAMPLERS
from .samplers.base import Sampler
from .samplers.driver import run
from .samplers.result import Infeasible, Result

__all__ = ["Infeasible", "Result", "SAMPLERS", "Sampler", "Target", "make_target", "register_sampler", "run"]


def register_sampler(cls: type[Sampler]) -> type[Sampler]:
    """Make ``cls`` available as ``cn.sample(..., method=cls.name)``; returns ``cls``.

    Raises ``ValueError`` when ``cls`` is not a :class:`Sampler` subclass or its name
    is taken by another class.
    """
    if not (isinstance(cls, type) and issubclass(cls, Sampler)):
        raise ValueError(f"cls must be a Sampler subclass, got {cls!r}")
    if cls.name in SAMPLERS and SAMPLERS[cls.name] is not cls:
        raise ValueError(f"a sampler named {cls.name!r} is registered already: {SAMPLERS[cls.name].__name__}")
    SAMPLERS[cls.name] = cls
    return cls
