"""Plots of a sample and its diagnostics (matplotlib; every function returns its axes).

>>> import consistent_nets.plots as cnp            # doctest: +SKIP
>>> cnp.decision_regions(tree, problem)             # doctest: +SKIP
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from ._checks import check_key
from ._trees import check_tree
from .diagnostics.chord import chord_positions
from .diagnostics.draws import flat_params, get_net, subsample
from .diagnostics.orbit import orbit_elements

__all__ = ["decision_regions", "orbit_histogram", "chord_histogram", "rank_histograms", "smc_stages"]

STAGE_VARIABLES = ("beta", "ess", "fraction_in_set", "acceptance", "step_size", "num_distinct")


def _axes(ax, ncols: int = 1, width: float = 4.0):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax
    _, axes = plt.subplots(1, ncols, figsize=(width * ncols, 3.4), squeeze=False)
    return axes[0] if ncols > 1 else axes[0, 0]


def decision_regions(tree, problem, num_grid: int = 80, ax=None):
    """For a 2-D problem: the fraction of draws with ``f(x) > 0`` over the input plane.

    Binary problems (one output) only; training points are drawn on top, coloured by label.
    A uniform sample shows how much S leaves undetermined away from the data.
    """
    net = get_net(problem)
    if net.d_in != 2 or net.d_out != 1:
        raise ValueError(f"problem must have 2 inputs and 1 output for decision_regions, got {net.sizes}")
    num_grid = int(num_grid)
    if num_grid < 2:
        raise ValueError(f"num_grid must be >= 2, got {num_grid}")
    params, _ = flat_params(tree, net)
    X = np.asarray(problem.X)
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.25 * np.maximum(hi - lo, 1e-3)
    g0 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], num_grid)
    g1 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], num_grid)
    grid = np.stack(np.meshgrid(g0, g1), axis=-1).reshape(-1, 2).astype(np.float32)
    positive = jax.jit(lambda p: jnp.mean(jax.vmap(net.apply, in_axes=(0, None))(p, grid)[..., 0] > 0, axis=0))
    frac = np.asarray(positive({k: jnp.asarray(v) for k, v in params.items()})).reshape(num_grid, num_grid)
    ax = _axes(ax)
    mesh = ax.pcolormesh(g0, g1, frac, cmap="RdBu", vmin=0, vmax=1, shading="auto")
    ax.figure.colorbar(mesh, ax=ax, label="fraction of draws with f > 0")
    y = np.asarray(problem.y).ravel()
    ax.scatter(X[:, 0], X[:, 1], c=np.where(y > 0, "tab:blue", "tab:red"), edgecolors="k", s=50, zorder=3)
    ax.set(xlabel="x1", ylabel="x2", title="decision regions of the draws")
    return ax


def orbit_histogram(tree, problem, ax=None):
    """Counts of the orbit index (group element to canonical form) with the uniform band.

    The band is the central 99 % binomial interval of each count under uniformity.
    For groups too large to index, the canonical position of unit 0 in layer 0.
    """
    from . import symmetry

    net = get_net(problem)
    if not symmetry.hidden_widths(net):
        raise ValueError("problem's network has no hidden layer: no symmetry orbit to plot")
    params, _ = flat_params(tree, net)
    perms, signs = orbit_elements(net, params)
    num = perms[0].shape[0]
    if symmetry.group_size(net) <= max(5, num // 5):
        values = symmetry.orbit_index((perms, signs), net)
        cells, label = symmetry.group_size(net), "orbit index"
    else:
        values = np.argmax(perms[0] == 0, axis=1)
        cells, label = perms[0].shape[1], "canonical position of unit 0 (layer 0)"
    counts = np.bincount(values, minlength=cells)
    ax = _axes(ax, width=6.0)
    ax.bar(np.arange(cells), counts, width=1.0, color="tab:gray", edgecolor="white")
    _band(ax, num, cells)
    ax.set(xlabel=label, ylabel="draws", title=f"symmetry orbits ({cells} cells)")
    return ax


def _band(ax, num: int, cells: int, level: float = 0.99):
    lo, hi = stats.binom.interval(level, num, 1.0 / cells)
    ax.axhspan(lo, hi, color="tab:blue", alpha=0.2, label=f"{level:.0%} band if uniform")
    ax.axhline(num / cells, color="tab:blue")
    ax.legend(loc="upper right", fontsize="small")


def chord_histogram(tree, problem, rng_key, bins: int = 20, max_draws: int = 1000, ax=None):
    """Histogram of relative chord positions: flat for a uniform sample on S."""
    net = get_net(problem)
    rng_key = check_key(rng_key)
    params, (c, d) = flat_params(tree, net)
    k_sub, k_dir = jax.random.split(rng_key)
    idx = subsample(k_sub, c * d, max_draws)
    u = chord_positions(problem, {k: v[idx] for k, v in params.items()}, k_dir)
    ax = _axes(ax)
    counts, _ = np.histogram(u, bins=bins, range=(0, 1))
    ax.bar((np.arange(bins) + 0.5) / bins, counts, width=1.0 / bins, color="tab:gray", edgecolor="white")
    _band(ax, u.size, bins)
    ax.set(xlabel="relative position on a random chord of S", ylabel="draws", title="chord test")
    return ax


def rank_histograms(calibration, bins: int | None = None, axes=None):
    """SBC rank histograms of a :class:`~consistent_nets.Calibration`, one per statistic."""
    ranks = getattr(calibration, "ranks", None)
    if not isinstance(ranks, dict) or not ranks:
        raise ValueError("calibration must be the result of cn.calibrate")
    num_teachers = len(next(iter(ranks.values())))
    bins = bins or max(2, min(10, num_teachers // 5))
    axes = _axes(axes, ncols=len(ranks))
    axes = np.atleast_1d(axes)
    for ax, (name, r) in zip(axes, ranks.items()):
        edges = np.linspace(0, calibration.num_ranks, bins + 1)
        ax.hist(r, bins=edges, color="tab:gray", edgecolor="white")
        _band(ax, num_teachers, bins)
        ax.set(xlabel=f"rank of the teacher's {name}", ylabel="teachers", title=f"{name}: p = {calibration.p_values[name]:.2g}")
    return axes


def smc_stages(tree, axes=None):
    """Per-stage β (log scale), ESS, fraction in S, acceptance, step size, distinct particles.

    Needs the ``smc_stages`` group (dims ``chain, stage``) that population samplers write;
    only the variables present are drawn, one line per chain.
    """
    tree = check_tree(tree)
    if "smc_stages" not in tree.children:
        raise ValueError("tree has no smc_stages group (only population samplers such as 'smc' write one)")
    ds = tree["smc_stages"].to_dataset()
    names = [v for v in STAGE_VARIABLES if v in ds.data_vars and ds[v].dims == ("chain", "stage")]
    if not names:
        raise ValueError(f"tree's smc_stages group has none of {STAGE_VARIABLES} with dims (chain, stage)")
    ncols = min(3, len(names))
    import matplotlib.pyplot as plt

    if axes is None:
        nrows = math.ceil(len(names) / ncols)
        _, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3 * nrows), squeeze=False)
    axes = np.ravel(axes)
    for ax, name in zip(axes, names):
        values = np.asarray(ds[name].values, dtype=float)
        for c, row in enumerate(values):
            ax.plot(np.arange(row.size), row, lw=1, label=f"chain {c}" if c < 8 else None)
        if name == "beta" and np.nanmin(values) >= 0:
            ax.set_yscale("symlog", linthresh=1e-3)
        ax.set(xlabel="stage", title=name)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    axes[0].legend(fontsize="small")
    return axes
