"""The ArviZ DataTree every method returns: built here, and only here; and read back by ``load``.

A tree carries what it needs to be diagnosed elsewhere: the draws (``posterior``), the
per-draw statistics (``sample_stats``), the data (``constant_data``: the inputs;
``observed_data``: the labels) and the problem's spec in its attrs (``cn_problem``,
``cn_arch``, ``cn_activation``, ``cn_prior``, ``cn_constraint``, ``cn_version``), from
which :func:`load` rebuilds a ``cn.Problem``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import numpy as np

from ._constraints import Constraint
from ._nets import MLP
from ._priors import Prior
from ._problem import Problem
from ._trees import check_tree

__all__ = ["build_tree", "to_tree", "add_predictions", "load", "log_volume_interval", "LOG_VOLUME_CI_PROB"]


def _strip_timestamps(tree):
    # same key -> identical tree: creation timestamps would make equal runs differ
    for node in tree.subtree:
        node.attrs.pop("created_at", None)
    return tree


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("consistent-nets")
    except PackageNotFoundError:
        return "unknown"


def to_tree(result, target=None):
    """The DataTree of a sampler's :class:`~consistent_nets.samplers.result.Result`.

    Groups: ``posterior`` (one variable per site, dims ``chain, draw, ...``),
    ``sample_stats`` (``in_set`` and the method's per-draw statistics) and, when the
    method records stages, ``"<method>_stages"``. Attrs: ``method``, ``log_volume``,
    ``log_volume_se``, ``complete``, ``stop_reason`` and the method's own, and the volume's
    interval (:func:`log_volume_interval`: ``log_volume_ci_prob``, ``_lower``, ``_upper``). With the
    ``target`` sampled, also its data and spec (see the module docstring).
    """
    import xarray as xr

    attrs = {
        "method": result.attrs.get("method", "unknown"),
        "log_volume": result.log_volume,
        "log_volume_se": result.log_volume_se,
        **result.attrs,
    }
    attrs |= log_volume_interval(attrs)
    groups = {}
    if result.stages:
        groups[f"{attrs['method']}_stages"] = xr.Dataset(dict(result.stages))
    data = {}
    if target is not None:
        attrs.update(_spec(target))
        data = _data(target)
    return build_tree(result.posterior, result.sample_stats, attrs, groups, data)


#: the probability of the interval ``attrs["log_volume_ci_lower"]`` to ``attrs["log_volume_ci_upper"]``
LOG_VOLUME_CI_PROB = 0.95


def log_volume_interval(attrs: Mapping, prob: float = LOG_VOLUME_CI_PROB) -> dict[str, float]:
    """``log_volume ± q * log_volume_se`` with ``q`` Student's t quantile on the SE's degrees of freedom.

    An SE from the spread of ``C`` populations (``attrs["log_volume_se_dof"] = C - 1``: 3 by
    default) is itself uncertain, so ``± 2 SE`` covers the truth less often than 95 %: at 3
    degrees of freedom the 95 % interval is ``± 3.18 SE`` (measured on XOR against exact
    rejection: BENCHMARKS.md, "How often the volume's interval covers the truth"). Without
    ``log_volume_se_dof`` the SE counts as exact (normal quantile). Empty where there is no
    finite estimate or SE (one chain, the SGD heuristic, an empty S).
    """
    value, se = attrs.get("log_volume"), attrs.get("log_volume_se")
    if value is None or se is None or not (np.isfinite(value) and np.isfinite(se) and se >= 0):
        return {}
    from scipy import stats  # here, not at import: the CLI's --help does not pay for scipy.stats

    dof = attrs.get("log_volume_se_dof")
    tail = (1.0 + prob) / 2.0
    q = float(stats.norm.ppf(tail) if dof is None or not np.isfinite(dof) else stats.t.ppf(tail, dof))
    return {
        "log_volume_ci_prob": prob,
        "log_volume_ci_lower": float(value) - q * float(se),
        "log_volume_ci_upper": float(value) + q * float(se),
    }


def _spec(target) -> dict[str, str]:
    """The problem's spec as attrs: enough to rebuild a ``Problem``, a description of a model."""
    spec = {"cn_version": _version(), "cn_consistent_sites": ",".join(target.consistent_sites)}
    p = target.problem
    if p is not None:
        return spec | {
            "cn_problem": "Problem",
            "cn_arch": "-".join(str(s) for s in p.net.sizes),
            "cn_activation": p.net.activation,
            "cn_prior": _spec_of(p.prior),
            "cn_constraint": _spec_of(p.constraint),
        }
    model = getattr(target.model, "__qualname__", type(target.model).__name__)
    constraints = [_spec_of(target.constraints[s]) for s in target.consistent_sites]
    spec |= {"cn_problem": "model", "cn_model": str(model), "cn_constraint": ",".join(constraints)}
    if target.symmetry is not None:
        net = target.symmetry[0]
        spec |= {"cn_arch": "-".join(str(s) for s in net.sizes), "cn_activation": net.activation}
    return spec


def _spec_of(thing) -> str:
    """``thing.spec()``, or its repr for a user-defined prior or constraint without one."""
    try:
        return thing.spec()
    except NotImplementedError:
        return repr(thing)


def _data(target) -> dict[str, dict[str, np.ndarray]]:
    """``constant_data`` (the model's array arguments by name) and ``observed_data`` (labels)."""
    if target.problem is not None:
        p = target.problem
        return {"constant_data": {"X": np.asarray(p.X)}, "observed_data": {"y": np.asarray(p.y)}}
    try:
        bound = inspect.signature(target.model).bind(*target.args, **target.kwargs).arguments
    except (TypeError, ValueError):  # no signature to read: positional names
        bound = {f"arg{i}": a for i, a in enumerate(target.args)} | dict(target.kwargs)
    constant = {k: np.asarray(v) for k, v in bound.items() if _is_array(v)}
    observed = {k: np.asarray(v) for k, v in target.labels.items()}
    return {"constant_data": constant, "observed_data": observed}


def _is_array(value) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and len(value.shape) >= 1


def build_tree(
    posterior: Mapping[str, np.ndarray],
    sample_stats: Mapping[str, np.ndarray],
    attrs: Mapping[str, object],
    extra_groups: Mapping[str, object] | None = None,
    data: Mapping[str, Mapping[str, np.ndarray]] | None = None,
):
    """A DataTree with ``posterior`` and ``sample_stats`` (dims ``chain, draw``) and root attrs.

    ``data`` holds groups without ``chain, draw`` dims (``constant_data``,
    ``observed_data``). Attribute values must be numbers or strings so that
    ``to_netcdf`` round-trips.
    """
    import arviz_base as azb
    import xarray as xr

    groups = {
        "posterior": {k: np.asarray(v) for k, v in posterior.items()},
        "sample_stats": {k: np.asarray(v) for k, v in sample_stats.items()},
    }
    groups |= {name: {k: np.asarray(v) for k, v in values.items()} for name, values in (data or {}).items() if values}
    tree = azb.from_dict(groups)
    for name, ds in (extra_groups or {}).items():
        tree[name] = xr.DataTree(ds)
    for key, value in attrs.items():
        if hasattr(value, "shape") and hasattr(value, "dtype") and value.shape == ():
            value = np.asarray(value).item()  # 0-d numpy / JAX arrays
        if isinstance(value, (bool, np.bool_)):
            value = int(value)
        elif isinstance(value, (np.floating, np.integer)):
            value = value.item()
        if not isinstance(value, (str, int, float)):
            # anything else would not survive to_netcdf / open_datatree unchanged
            raise TypeError(f"attrs[{key!r}] must be a number or a string, got {type(value).__name__}")
        tree.attrs[key] = value
    return _strip_timestamps(tree)


def add_predictions(tree, outputs: Mapping[str, np.ndarray], group: str = "posterior_predictive"):
    """Put ``outputs`` (each ``(chain, draw, ...)``) into ``tree[group]``, replacing it; returns ``tree``."""
    import arviz_base as azb

    new = azb.from_dict({group: {k: np.asarray(v) for k, v in outputs.items()}})
    tree[group] = new[group]
    return _strip_timestamps(tree)


def load(path):
    """A saved tree and, where its attrs and data allow, the ``cn.Problem`` it was drawn for.

    Parameters
    ----------
    path : str or path
        A netCDF file written by ``tree.to_netcdf`` (from :func:`cn.sample
        <consistent_nets.sample>`, the command line, or any ArviZ DataTree with a
        ``posterior`` group).

    Returns
    -------
    (xarray.DataTree, Problem or None)
        ``None`` for a hand-written model (its code is not in the tree) or a tree
        without the spec and data.

    Raises
    ------
    ValueError
        No such file, not a netCDF DataTree, or no ``posterior`` group.

    Examples
    --------
    >>> import jax, tempfile, os, consistent_nets as cn
    >>> X, y = cn.datasets.xor()
    >>> problem = cn.Problem(cn.MLP([2, 3, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
    >>> tree = cn.sample(problem, method="rejection", num_samples=40,
    ...                  rng_key=jax.random.key(0), progress_bar=False)
    >>> path = os.path.join(tempfile.mkdtemp(), "run.nc")
    >>> tree.to_netcdf(path)
    >>> tree2, problem2 = cn.load(path)
    >>> problem2.net == problem.net, problem2.prior, problem2.constraint
    (True, BoxPrior(a=3.0), Margin(m=0.0))
    """
    import os

    import xarray as xr

    if not os.path.isfile(path):
        raise ValueError(f"path {path}: no such file")
    try:
        with xr.open_datatree(path) as opened:
            tree = opened.load()
    except Exception as err:  # noqa: BLE001 - any reader failure is bad input here
        raise ValueError(f"path {path}: not a netCDF DataTree ({type(err).__name__})") from err
    check_tree(tree, f"the tree in {path}")
    return tree, problem_of(tree)


def problem_of(tree) -> Problem | None:
    """The ``cn.Problem`` a tree's spec attrs and data groups describe, or ``None``."""
    a = tree.attrs
    needed = ("cn_arch", "cn_activation", "cn_prior", "cn_constraint")
    if a.get("cn_problem") != "Problem" or any(k not in a for k in needed):
        return None
    if "constant_data" not in tree.children or "observed_data" not in tree.children:
        return None
    X = tree["constant_data"].to_dataset().get("X")
    y = tree["observed_data"].to_dataset().get("y")
    if X is None or y is None:
        return None
    try:
        net = MLP([int(s) for s in str(a["cn_arch"]).split("-")], activation=str(a["cn_activation"]))
        prior, constraint = Prior.from_spec(str(a["cn_prior"])), Constraint.from_spec(str(a["cn_constraint"]))
    except ValueError:  # e.g. a user-defined prior, recorded by its repr: not rebuildable
        return None
    return Problem(net, X.values, y.values, prior, constraint)
