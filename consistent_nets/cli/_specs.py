"""Command-line specs: ``2-16-1`` architectures, ``box:3`` priors, ``margin:0`` constraints.

Parsing only; nothing here imports JAX until a problem is built.
"""

from __future__ import annotations

__all__ = ["parse_arch", "parse_prior", "parse_constraint", "build_problem", "DEFAULT_ARCH"]

#: architecture of each shipped dataset when --arch is not given
DEFAULT_ARCH = {"xor": "2-3-1", "moons": "2-16-16-1", "random-labels": "2-16-1", "teacher": "10-32-32-1", "digits": "64-16-1"}


def parse_arch(spec: str) -> list[int]:
    """``"2-16-1"`` -> ``[2, 16, 1]``; ``ValueError`` naming ``--arch`` otherwise."""
    try:
        sizes = [int(s) for s in spec.split("-")]
    except ValueError:
        sizes = []
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"--arch must look like 2-16-16-1 (layer widths), got {spec!r}")
    return sizes


def parse_prior(spec: str):
    """``"box:3"`` -> ``BoxPrior(3.0)``, ``"normal:1"`` -> ``NormalPrior(1.0)`` (``Prior.from_spec``)."""
    from .._priors import Prior

    return Prior.from_spec(spec)


def parse_constraint(spec: str):
    """``"margin:0"`` -> ``Margin(0.0)``, ``"tube:0.1"`` -> ``Tube(0.1)`` (``Constraint.from_spec``)."""
    from .._constraints import Constraint

    return Constraint.from_spec(spec)


def build_problem(
    dataset: str | None, arch: str, activation: str, prior: str, constraint: str, n: int | None, data_seed: int | None,
    data=None,
):
    """The Problem a ``sample`` run describes: a shipped dataset, or ``data = (X, y)``.

    Also rebuilds the problem of a run written before trees carried their data (from
    its ``cli_*`` attrs).
    """
    import consistent_nets as cn

    net = cn.MLP(parse_arch(arch), activation=activation)
    prior_obj, constraint_obj = parse_prior(prior), parse_constraint(constraint)
    if data is None:
        if dataset == "xor":
            n = None  # XOR has its four points whatever a saved run recorded
        data = cn.datasets.load(dataset, n=n, seed=data_seed or 0, net=net, prior=prior_obj)
    return cn.Problem(net, *data, prior=prior_obj, constraint=constraint_obj)
