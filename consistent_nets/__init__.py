"""consistent-nets: sample network weights uniformly from the set S that fits the data.

Examples
--------
>>> import jax, consistent_nets as cn
>>> X, y = cn.datasets.xor()
>>> net = cn.MLP([2, 3, 1], activation="tanh")
>>> problem = cn.Problem(net, X, y, prior=cn.BoxPrior(3.0), constraint=cn.Margin(0.0))

The names below are the public API; the modules behind them (``consistent_nets._*``) are
private. Public submodules: :mod:`.datasets`, :mod:`.diagnostics`, :mod:`.symmetry`,
:mod:`.plots` and :mod:`.extend` (targets and custom samplers).

Importing the package imports none of them: each name is loaded from its module on first
use (PEP 562), so ``import consistent_nets`` (and the command line's ``--help``) stays
fast, and scikit-learn, xarray/ArviZ and matplotlib load only when a dataset, a tree or a
figure needs them. Importing configures nothing in JAX and starts no JAX backend.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: public name -> the module (relative to this package) that defines it
_EXPORTS = {
    "Anneal": ".samplers",
    "BoxPrior": "._priors",
    "Calibration": ".diagnostics",
    "CheckResult": ".diagnostics",
    "Constraint": "._constraints",
    "InfeasibleError": "._errors",
    "LogVolumeBounds": "._bounds",
    "METHODS": "._api",
    "MLP": "._nets",
    "Margin": "._constraints",
    "NormalPrior": "._priors",
    "Prior": "._priors",
    "Problem": "._problem",
    "Rejection": ".samplers",
    "Report": ".diagnostics",
    "SGD": ".samplers",
    "SMC": ".samplers",
    "Tube": "._constraints",
    "calibrate": ".diagnostics",
    "bound_log_volume": "._bounds",
    "canonicalize": ".symmetry",
    "consistent": "._plugin",
    "diagnose": ".diagnostics",
    "geometric_schedule": ".samplers",
    "linear_schedule": ".samplers",
    "load": "._output",
    "predict": "._api",
    "sample": "._api",
    "symmetrize": ".symmetry",
    "temper": "._plugin",
}
#: public submodules, loaded on first attribute access as well
_SUBMODULES = ("datasets", "diagnostics", "extend", "plots", "symmetry")

__all__ = sorted([*_EXPORTS, "datasets", "symmetry"])


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})


if TYPE_CHECKING:  # what static tools see; at run time the names load on first use
    from . import datasets, diagnostics, extend, plots, symmetry
    from ._api import METHODS, predict, sample
    from ._bounds import LogVolumeBounds, bound_log_volume
    from ._constraints import Constraint, Margin, Tube
    from ._errors import InfeasibleError
    from ._nets import MLP
    from ._output import load
    from ._plugin import consistent, temper
    from ._priors import BoxPrior, NormalPrior, Prior
    from ._problem import Problem
    from .diagnostics import Calibration, CheckResult, Report, calibrate, diagnose
    from .samplers import SGD, SMC, Anneal, Rejection, geometric_schedule, linear_schedule
    from .symmetry import canonicalize, symmetrize
