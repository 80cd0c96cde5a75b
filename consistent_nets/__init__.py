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
"""

from . import datasets, symmetry
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

__version__ = "0.1.0"

__all__ = [
    "Anneal",
    "BoxPrior",
    "Calibration",
    "CheckResult",
    "Constraint",
    "InfeasibleError",
    "LogVolumeBounds",
    "METHODS",
    "MLP",
    "Margin",
    "NormalPrior",
    "Prior",
    "Problem",
    "Rejection",
    "Report",
    "SGD",
    "SMC",
    "Tube",
    "bound_log_volume",
    "calibrate",
    "canonicalize",
    "consistent",
    "datasets",
    "diagnose",
    "geometric_schedule",
    "linear_schedule",
    "load",
    "predict",
    "sample",
    "symmetrize",
    "symmetry",
    "temper",
]
