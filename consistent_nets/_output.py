"""The ArviZ DataTree every method returns: built here, and only here, from a ``Result``."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["build_tree", "to_tree"]


def _strip_timestamps(tree):
    # same key -> identical tree: creation timestamps would make equal runs differ
    for node in tree.subtree:
        node.attrs.pop("created_at", None)
    return tree


def to_tree(result):
    """The DataTree of a sampler's :class:`~consistent_nets.samplers.result.Result`.

    Groups: ``posterior`` (one variable per site, dims ``chain, draw, ...``),
    ``sample_stats`` (``in_set`` and the method's per-draw statistics) and, when the
    method records stages, ``"<method>_stages"``. Attrs: ``method``, ``log_volume``,
    ``log_volume_se``, ``complete``, ``stop_reason`` and the method's own.
    """
    import xarray as xr

    attrs = {
        "method": result.attrs.get("method", "unknown"),
        "log_volume": result.log_volume,
        "log_volume_se": result.log_volume_se,
        **result.attrs,
    }
    groups = {}
    if result.stages:
        groups[f"{attrs['method']}_stages"] = xr.Dataset(dict(result.stages))
    return build_tree(result.posterior, result.sample_stats, attrs, groups)


def build_tree(
    posterior: Mapping[str, np.ndarray],
    sample_stats: Mapping[str, np.ndarray],
    attrs: Mapping[str, object],
    extra_groups: Mapping[str, object] | None = None,
):
    """A DataTree with ``posterior`` and ``sample_stats`` (dims ``chain, draw``) and root attrs.

    Attribute values must be numbers or strings so that ``to_netcdf`` round-trips.
    """
    import arviz_base as azb
    import xarray as xr

    tree = azb.from_dict(
        {
            "posterior": {k: np.asarray(v) for k, v in posterior.items()},
            "sample_stats": {k: np.asarray(v) for k, v in sample_stats.items()},
        },
    )
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
