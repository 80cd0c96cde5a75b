"""Building the ArviZ DataTree every method returns."""

from __future__ import annotations

from collections.abc import Mapping

import arviz_base as azb
import numpy as np
import xarray as xr

__all__ = ["build_tree", "split_chains"]


def _strip_timestamps(tree: xr.DataTree) -> xr.DataTree:
    # same key -> identical tree: creation timestamps would make equal runs differ
    for node in tree.subtree:
        node.attrs.pop("created_at", None)
    return tree


def split_chains(draws: Mapping[str, np.ndarray], num_chains: int) -> dict[str, np.ndarray]:
    """Reshape ``(num_chains * k, ...)`` flat draws to ``(num_chains, k, ...)``."""
    out = {}
    for name, value in draws.items():
        value = np.asarray(value)
        k = value.shape[0] // num_chains
        out[name] = value[: num_chains * k].reshape((num_chains, k) + value.shape[1:])
    return out


def build_tree(
    posterior: Mapping[str, np.ndarray],
    sample_stats: Mapping[str, np.ndarray],
    attrs: Mapping[str, object],
    extra_groups: Mapping[str, xr.Dataset] | None = None,
) -> xr.DataTree:
    """A DataTree with ``posterior`` and ``sample_stats`` (dims ``chain, draw``) and root attrs.

    Attribute values must be numbers or strings so that ``to_netcdf`` round-trips.
    """
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
