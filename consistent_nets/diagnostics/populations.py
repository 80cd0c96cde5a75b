"""Mode weights: do the chains (SMC populations, MCMC chains) weight the regions of S alike?

S is often a union of regions the samplers cannot move between: separate components,
or regions joined by thin necks. Uniform on S puts mass on each in proportion to its
volume. A chain or population that misses a region, or weights it wrongly, has other
*proportions* than the rest — something the chord test cannot see (for any mixture of
uniform distributions on S's regions, the chord position is exactly uniform) and R-hat
sees only through means.

Two tests on the pooled draws (one per dependence block, see :mod:`.blocks`), combined
by Bonferroni (the p-value is twice the smaller one):

* **clusters**: the draws are clustered by k-means on their standardised outputs at the
  data and probe points (SciPy's ``kmeans2``, ``k`` chosen so that every cell of the
  chain-by-cluster table expects at least 5 draws, at most 6), and Pearson's chi-square
  test of homogeneity of the ``chains x clusters`` table is run. Under the null — every
  chain draws from the same distribution — the cluster labels are exchangeable across
  chains whatever the clustering (it is a symmetric function of the pooled draws), so
  the test is calibrated. Its statistic, Cramér's V (0: the same proportions
  everywhere), is the check's statistic.
* **marginals**: each chain against the others, the two-sample Kolmogorov–Smirnov test
  of the outputs at every probe point (Bonferroni over chains and probes). A region of
  S is usually told apart by what the network does *off* the data, and a handful of
  clusters over all outputs dilutes that: on the benchmarks' moons, one population of
  four that misses half of S (where the draws disagree on the sign at one input) passed
  the cluster test on 5 of 5 keys; with this test the check fails on 7 of 10
  (BENCHMARKS.md).

Limits: it compares chains with each other. A bias that every chain shares (all miss
the same region, or all over-weight it) is invisible without a reference sample (the
``reference`` check); with one chain the check does not run. It sees S only through the
outputs at the data and the probes, and it tests about as many independent draws as
the sample has dependence blocks: on moons at 1000 draws (≈ 75 blocks per population)
one population missing 10–30 % of S passed on 27 of 30 keys (at 4000 draws a missing
30 % failed on 3 of 3) — more draws, more probes (``num_probes``) or a reference are
what catch a small missing region.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from scipy.cluster.vq import kmeans2

from .report import CheckResult, not_applicable

__all__ = ["populations_check", "NULL"]

NULL = "every chain (population) weights the regions of S alike: cluster proportions and outputs at the probes agree"


def populations_check(
    f: np.ndarray, chain: np.ndarray, seed: int, max_clusters: int = 6, marginals: np.ndarray | None = None
) -> CheckResult:
    """Chi-square homogeneity of cluster proportions and per-feature KS across chains.

    Parameters
    ----------
    f : numpy.ndarray, shape (draws, features)
        Function-space outputs of (nearly) independent draws.
    chain : numpy.ndarray, shape (draws,)
        The chain or population of each draw.
    seed : int
        For k-means' initialisation.
    marginals : numpy.ndarray, shape (draws, m), optional
        The features tested one at a time, each chain against the others (``diagnose``
        passes the outputs at the probes); default ``f``.
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
    if table.shape[1] >= 2:
        statistic, p_clusters, dof, _ = stats.chi2_contingency(table, correction=False)
        cramer_v = math.sqrt(statistic / (table.sum() * (min(table.shape) - 1)))
        clusters = (f"Cramér's V {cramer_v:.3g} of {table.shape[0]} chains x {table.shape[1]} "
                    f"function-space clusters (p {p_clusters:.2g})")
    else:
        cramer_v, p_clusters, clusters = 0.0, 1.0, "the draws form one cluster"
    largest, p_marginals, where = _marginals(f if marginals is None else marginals, chain, chains)
    p_value = min(1.0, 2.0 * min(p_clusters, p_marginals))
    detail = (
        f"{clusters}; each chain against the rest, largest KS {largest:.3g} ({where}; p {p_marginals:.2g}, "
        f"Bonferroni over chains and features); {int(table.sum())} independent draws"
    )
    return CheckResult("populations", cramer_v, float(p_value), math.nan, True, NULL, detail)


def _marginals(m: np.ndarray, chain: np.ndarray, chains: np.ndarray) -> tuple[float, float, str]:
    """Largest one-chain-against-the-rest KS distance over features, its Bonferroni p-value, where."""
    m = np.asarray(m).reshape(len(chain), -1)
    varying = np.flatnonzero(np.ptp(m, axis=0) > 0)
    if varying.size == 0:
        return 0.0, 1.0, "no varying feature"
    tests = [stats.ks_2samp(m[chain == c][:, varying], m[chain != c][:, varying], axis=0) for c in chains]
    d = np.stack([t.statistic for t in tests])
    p = np.stack([t.pvalue for t in tests])
    c, j = np.unravel_index(int(np.argmin(p)), p.shape)
    return float(d[c, j]), min(1.0, float(p[c, j]) * p.size), f"chain {chains[c]}, feature {varying[j]}"
