"""DataTree <-> parameter arrays: the one place draws are read back out of a tree.

A low layer: it imports nothing from the package but :mod:`._checks`; xarray is imported
only when a tree is checked.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["check_tree", "posterior_params", "count_distinct_rows"]


def check_tree(tree, name: str = "tree"):
    """``tree`` if it is an ``xarray.DataTree`` with a ``posterior`` group, else ``ValueError``."""
    import xarray as xr

    if not isinstance(tree, xr.DataTree) or "posterior" not in tree.children:
        raise ValueError(f"{name} must be an xarray.DataTree with a posterior group")
    return tree


def posterior_params(
    tree, site_shapes: Mapping[str, tuple[int, ...]], name: str = "tree", owner: str = "the model"
) -> tuple[dict[str, np.ndarray], tuple[int, int]]:
    """Every draw of the sites ``site_shapes``, flattened to ``(chain * draw, *shape)``.

    Returns the arrays (float32, as JAX computes) and ``(num_chains, num_draws)``.
    Raises ``ValueError`` naming ``name`` when a site is missing or has another shape.
    """
    post = check_tree(tree, name)["posterior"]
    missing = [k for k in site_shapes if k not in post.data_vars]
    if missing:
        raise ValueError(f"{name}'s posterior lacks the sites {missing} of {owner}")
    out, shape = {}, None
    for site, site_shape in site_shapes.items():
        da = post[site]
        if "chain" not in da.dims or "draw" not in da.dims:
            raise ValueError(f"{name}'s posterior site {site!r} must have dims (chain, draw, ...), got {da.dims}")
        da = da.transpose("chain", "draw", ...)
        if tuple(da.shape[2:]) != tuple(site_shape):
            raise ValueError(
                f"{name}'s posterior site {site!r} has shape {tuple(da.shape[2:])}, {owner} expects {tuple(site_shape)}"
            )
        if shape is not None and da.shape[:2] != shape:
            raise ValueError(f"{name}'s posterior sites disagree on (chain, draw): {shape} and {da.shape[:2]}")
        shape = tuple(da.shape[:2])
        out[site] = np.asarray(da.values, dtype=np.float32).reshape((-1, *site_shape))
    return out, shape


def count_distinct_rows(draws: Mapping[str, np.ndarray] | np.ndarray) -> int:
    """Number of distinct draws (exact equality of every weight; copies count once).

    ``draws`` is an array ``(N, ...)`` or a mapping of site arrays with a common leading
    axis ``N``.
    """
    if isinstance(draws, Mapping):
        arrays = [np.asarray(v) for v in draws.values()]
    else:
        arrays = [np.asarray(draws)]
    if not arrays or arrays[0].shape[0] == 0:
        return 0
    flat = np.concatenate([a.reshape(a.shape[0], -1) for a in arrays], axis=1)
    return int(np.unique(flat, axis=0).shape[0])
