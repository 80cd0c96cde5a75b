"""consistent-nets: sample network weights uniformly from the set S that fits the data.

Examples
--------
>>> import jax, consistent_nets as cn
>>> X, y = cn.datasets.xor()
>>> net = cn.MLP([2, 3, 1], activation="tanh")
>>> problem = cn.Problem(net, X, y, prior=cn.BoxPrior(3.0), constraint=cn.Margin(0.0))
"""

from . import datasets
from ._errors import InfeasibleError
from .api import METHODS, predict, sample
from .constraints import Constraint, Margin, Tube
from .nets import MLP
from .plugin import consistent, temper
from .priors import BoxPrior, NormalPrior, Prior
from .problem import Problem
from .samplers import SGD, SMC, Anneal, Rejection, Sampler, geometric_schedule, linear_schedule
from .target import Target, make_target
from . import symmetry
from .diagnostics import Calibration, CheckResult, Report, calibrate, diagnose
from .symmetry import canonicalize, symmetrize

__version__ = "0.1.0"

__all__ = [
    "Calibration",
    "CheckResult",
    "Report",
    "calibrate",
    "canonicalize",
    "diagnose",
    "symmetrize",
    "symmetry",
    "BoxPrior",
    "Constraint",
    "InfeasibleError",
    "MLP",
    "METHODS",
    "Margin",
    "NormalPrior",
    "Prior",
    "Problem",
    "Rejection",
    "SGD",
    "SMC",
    "Anneal",
    "geometric_schedule",
    "linear_schedule",
    "Sampler",
    "Target",
    "Tube",
    "consistent",
    "datasets",
    "make_target",
    "predict",
    "sample",
    "temper",
]
