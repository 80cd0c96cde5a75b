"""Mode weights: do the chains (SMC populations, MCMC chains) weight the regions of S alike?

S is often a union of regions the samplers cannot move between: separate components,
or regions joined by thin necks. Uniform on S puts mass on each in proportion to its
volume. A chain or population that misses a region, or weights it wrongly, has other
*proportions* than the rest — something the chord test cannot see (for any mixture of
uniform distributions on S's regions, the chord position is exactly uniform) and R-hat
sees only through means.

The regions are found in function space: the pooled draws (one per dependence block,
see :mod:`.blocks`) are clustered by k-means on their standardised outputs at the data
and probe points (SciPy's ``kmeans2``, ``k`` chosen so that every cell of the
chain-by-cluster table expects at least 5 draws, at most 6). Under the null — every
chain draws from the same distribution — the cluster labels are exchangeable across
chains whatever the clustering (it is a symmetric function of the pooled draws), and
Pearson's chi-square test of homogeneity of the ``chains x clusters`` table is
calibrated. The statistic reported is Cramér's V (0: the same proportions everywhere).

Limits: it compares chains with each other. A bias that every chain shares (all miss
the same region, or all over-weight it) is invisible without a reference sample (the
``reference`` check); with one chain the check does not run.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from scipy.cluster.vq import kmeans2

from .report import CheckResult, not_applicable

__all__ = ["populations_check", "NULL"]

NULL = "every chain (population) weights the regions of S alike: cluster proportions agree"


def populations_check(f: np.ndarray, chain: np.ndarray, seed: int, max_clusters: int = 6) -> CheckResult:
    """Chi-square homogeneity of cluster proportions across chains.

    Parameters
    ----------
    f : numpy.ndarray, shape (draws, features)
        Function-space outputs of (nearly) independent draws.
    chain : numpy.ndarray, shape (draws,)
        The chain or population of each draw.
    seed : int
        For k-means' initialisation.
    """
    chains, counts = np.unique(chain, return_counts=True)
    if chains.size < 2:
        return not_applicable("populations", NULL, "one chain: nothing to compare (run num_chains >= 2)")
    keep = np.std(f, axis=0) > 0
    k = int(min(max_clusters, counts.sum() // (5 * chains.size)))
    if k < 2 or not keep.any():
        why = "outputs are constant across draws" if not keep.any() else f"too few independent draws ({counts.sum()})"
        return not_applicable("populations", NULL, why)
    z = (f[:, keep] - f[:, keep].mean(axis=0)) / f[:, keep].std(axis=0)
    _, label = kmeans2(z, k, seed=seed, minit="++")
    table = np.zeros((chains.size, k))
    np.add.at(table, (np.searchsorted(chains, chain), label), 1)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return not_applicable("populations", NULL, "the draws form one cluster")
    statistic, p_value, dof, _ = stats.chi2_contingency(table, correction=False)
    cramer_v = math.sqrt(statistic / (table.sum() * (min(table.shape) - 1)))
    detail = (
        f"Cramér's V of {table.shape[0]} chains x {table.shape[1]} function-space clusters, "
        f"{int(table.sum())} independent draws (chi-square {statistic:.3g}, {dof} dof)"
    )
    return CheckResult("populations", cramer_v, float(p_value), math.nan, True, NULL, detail)
