"""Effective draws: how many independent draws a sample is worth, in function space.

Rows are not draws. Resampling gives SMC particles shared ancestors, MCMC draws are
autocorrelated, and independent populations may weight the regions of S differently;
each makes the sample worth fewer independent draws than it has rows. The effective
number is measured on *function-space features* (the network's outputs at the data
and at fixed probe inputs: invariant under the hidden-unit symmetries, so unaffected
by symmetrisation), feature by feature, as

    ESS_k = Var(f_k) / Var(mean estimate of f_k),

and summarised by the median over features. How ``Var(mean estimate)`` is estimated
depends on how the draws were made (``Result.structure``):

``"independent"`` (rejection, the SGD heuristic's independent runs)
    every row is an independent draw: ``ESS = number of rows``.
``"chains"`` (MCMC chains, ``anneal``)
    ArviZ's rank-normalised bulk ESS with chains as chains (autocorrelation and
    between-chain variance).
``"lineage"`` (SMC populations)
    within a population, particles that share an ancestor ``lag`` resamplings back form
    one group, and the variance of the population mean is estimated from the group
    sums (Chan & Lai 2013; with a fixed lag, Olsson & Douc 2019)::

        sigma_c^2 = (1/N) sum_g (sum_{i in g} (f_i - mean_c f))^2,   Var(mean_c) ≈ sigma_c^2 / N,

    which counts every group of siblings once however many rows it has. Across
    populations, the spread of the population means ``V_B`` is compared with what the
    groups predict, ``V_L``: populations that weight the regions of S differently
    spread more than their groups say, and the variance is inflated by
    ``max(1, sum_k V_B,k / sum_k V_L,k)`` (pooled over features; one population: no
    inflation, and no check).

The per-population values are ``N sigma_c^2``-based (without the between-population
inflation, which no single population can see).
"""

from __future__ import annotations

import numpy as np

__all__ = ["effective_draws", "chain_ess", "lineage_groups", "LINEAGE_LAG"]

#: resamplings back at which SMC siblings count as one draw (see effective_draws)
LINEAGE_LAG = 2


def lineage_groups(ancestry: list[np.ndarray], lag: int) -> np.ndarray:
    """Group id of every final particle: its ancestor's index ``lag`` resamplings back.

    ``ancestry`` lists the parent indices ``(chain, N)`` of every resampling, oldest
    first (the last entry made the final population). ``lag`` larger than the number of
    resamplings means the initial population (Eve indices).
    """
    if not ancestry:
        raise ValueError("ancestry must list at least one resampling")
    group = np.broadcast_to(np.arange(ancestry[-1].shape[1]), ancestry[-1].shape).copy()
    for parents in ancestry[::-1][:lag]:
        group = np.take_along_axis(parents, group, axis=1)
    return group


def _median(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else float("nan")


def _bulk_ess(f: np.ndarray) -> np.ndarray:
    """ArviZ's rank-normalised bulk ESS of every feature of ``f`` ``(chain, draw, feature)``."""
    from arviz_stats.base import array_stats

    ary = np.moveaxis(np.asarray(f, dtype=np.float64), 2, 0)  # (feature, chain, draw)
    return np.asarray(array_stats.ess(ary, chain_axis=-2, draw_axis=-1, method="bulk"))


def chain_ess(f: np.ndarray) -> np.ndarray:
    """Each chain's own bulk ESS, median over features (``nan`` where none is finite): ``(chain,)``."""
    return np.array([_median(_bulk_ess(f[c : c + 1])) for c in range(f.shape[0])])


def effective_draws(features: np.ndarray, structure: str, groups: np.ndarray | None = None):
    """``(ess, per_chain, inflation)`` from features ``(chain, draw, feature)``.

    ``ess`` is the median over features of the effective number of independent draws,
    capped at the number of rows; ``per_chain`` the same per chain or population
    (``(chain,)``); ``inflation`` the between-population variance factor applied
    (``nan`` where it does not apply). ``groups`` ``(chain, draw)`` are the lineage groups
    for ``structure="lineage"``. Features constant across draws are skipped.
    """
    f = np.asarray(features, dtype=np.float64)
    num_chains, num_draws, _ = f.shape
    keep = np.var(f.reshape(-1, f.shape[-1]), axis=0) > 0
    f = f[..., keep]
    if structure == "independent" or f.shape[-1] == 0:
        return float(num_chains * num_draws), np.full(num_chains, float(num_draws)), float("nan")
    if structure == "chains":
        if num_draws < 4:
            return float("nan"), np.full(num_chains, np.nan), float("nan")
        ess = min(_median(_bulk_ess(f)), float(num_chains * num_draws))
        return ess, chain_ess(f), float("nan")
    if structure != "lineage" or groups is None:
        raise ValueError(f"structure must be 'independent', 'chains' or 'lineage' (with groups), got {structure!r}")
    means = f.mean(axis=1)  # (chain, feature)
    dev = f - means[:, None, :]
    sigma2 = np.empty_like(means)
    for c in range(num_chains):
        _, inverse = np.unique(groups[c], return_inverse=True)
        sums = np.zeros((inverse.max() + 1, f.shape[-1]))
        np.add.at(sums, inverse, dev[c])
        sigma2[c] = np.sum(sums**2, axis=0) / num_draws
    within = np.mean(dev**2, axis=1)  # (chain, feature)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_chain_k = np.clip(num_draws * within / sigma2, 1.0, num_draws)
    per_chain = np.array([_median(row) for row in per_chain_k])
    v_lineage = np.sum(sigma2, axis=0) / num_draws / num_chains**2  # Var of the pooled mean
    inflation = float("nan")
    if num_chains >= 2:
        v_between = np.var(means, axis=0, ddof=1) / num_chains
        inflation = float(max(1.0, np.sum(v_between) / np.sum(v_lineage)))
    pooled = np.var(f.reshape(-1, f.shape[-1]), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ess_k = pooled / (v_lineage * (1.0 if np.isnan(inflation) else inflation))
    ess = min(_median(ess_k), float(num_chains * num_draws))
    return ess, per_chain, inflation
