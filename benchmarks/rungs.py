"""The five fixed problems of the benchmark ladder (fixed data seeds, fixed architectures).

Each rung is a :class:`Rung`: how to build its :class:`consistent_nets.Problem`, the
reference log volume where one is known, and how long the rejection peer may run
before its time-to-``num_samples`` is extrapolated from its acceptance rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import consistent_nets as cn

__all__ = ["Rung", "RUNGS", "get_rung"]


@dataclass(frozen=True)
class Rung:
    name: str
    build: Callable[[], "cn.Problem"]
    description: str
    reference_log_volume: float | None = None
    reference_note: str = ""
    rejection_seconds: float | None = None


def _xor():
    X, y = cn.datasets.xor()
    return cn.Problem(cn.MLP([2, 3, 1], activation="tanh"), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))


def _moons():
    X, y = cn.datasets.moons(100, 0.1, 0)
    return cn.Problem(cn.MLP([2, 16, 16, 1], activation="tanh"), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))


def _digits():
    X, y = cn.datasets.digits(classes=(3, 5), n=128, seed=0)
    return cn.Problem(cn.MLP([64, 16, 1], activation="tanh"), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))


def _teacher():
    net = cn.MLP([10, 32, 32, 1], activation="tanh")
    X, y, _ = cn.datasets.teacher(net, n=100, prior=cn.BoxPrior(3.0), seed=0)
    return cn.Problem(net, X, y, cn.BoxPrior(3.0), cn.Margin(0.0))


def _random_labels():
    X, y = cn.datasets.random_labels(40, 2, 3)
    return cn.Problem(cn.MLP([2, 16, 1], activation="tanh"), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))


RUNGS: dict[str, Rung] = {
    "xor": Rung(
        "xor",
        _xor,
        "XOR, 4 points; MLP [2, 3, 1] tanh (13 weights), box 3, margin 0",
        reference_log_volume=-5.191,
        reference_note="exact rejection (project reference value)",
        rejection_seconds=None,
    ),
    "moons": Rung(
        "moons",
        _moons,
        "two moons n=100, noise 0.1, seed 0; MLP [2, 16, 16, 1] tanh (337 weights), box 3",
        reference_log_volume=-12.665,
        reference_note=(
            "rejection, 53 of 16,773,844 prior draws in S (seed 7): -12.665 +- 0.137; "
            "the issue's ~1e-5 (-11.5) was off by a factor of ~3"
        ),
        rejection_seconds=300.0,
    ),
    "digits": Rung(
        "digits",
        _digits,
        "digits 3 vs 5, n=128, seed 0; MLP [64, 16, 1] tanh (1057 weights), box 3",
        rejection_seconds=60.0,
    ),
    "teacher": Rung(
        "teacher",
        _teacher,
        "planted teacher MLP [10, 32, 32, 1] tanh (1441 weights), n=100, seed 0, box 3",
        rejection_seconds=60.0,
    ),
    "random-labels": Rung(
        "random-labels",
        _random_labels,
        "random labels n=40, d=2, seed 3; MLP [2, 16, 1] tanh (65 weights), box 3",
        rejection_seconds=60.0,
    ),
}


def get_rung(name: str) -> Rung:
    if name not in RUNGS:
        raise ValueError(f"rung must be one of {list(RUNGS)}, got {name!r}")
    return RUNGS[name]
