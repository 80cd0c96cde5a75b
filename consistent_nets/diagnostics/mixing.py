"""Function-space R-hat and ESS: network outputs at probe points, across chains.

Weight-space R-hat is meaningless for networks: two chains sampling different but
equivalent orbits (permuted or sign-flipped hidden units) have the same function and
different weights. Outputs ``f_w(x_k)`` at probe points ``x_k`` are invariant, so their
rank-normalised split R-hat (Vehtari et al. 2021) and bulk ESS, from ArviZ, measure
whether the chains agree and how many effectively independent draws there are.

Thresholds: ``max_k Rhat_k < max(1.01, r*)`` and ``min_k ESS_k >= min(400, N / 4)`` with
``N`` the number of draws (400 = 100 per chain for four chains; ``N / 4`` for small
samples, which independent draws, ESS ≈ N, clear easily). 1.01 is the usual limit
(Vehtari et al. 2021) for long chains; with short ones independent draws exceed it by
chance, so it is raised to ``r*``, the 99.9 % quantile of the largest R-hat over ``P``
probes for independent draws. With ``m = 2 C`` split chains of length ``n``, the
between/within variance ratio of independent draws is ``chi2_{m-1} / (m - 1)``, so

    r* = sqrt((n - 1) / n + q / n),   q = chi2_{m-1}.ppf(1 - 0.001 / (2 P)) / (m - 1),

(``2 P``: ArviZ's rank R-hat is the larger of the bulk and folded R-hats). For 4 chains
of 500 draws and 20 probes ``r* ≈ 1.006``, so the limit is 1.01; of 75 draws, ``r* ≈ 1.04``.
"""

from __future__ import annotations

import math

import numpy as np
from arviz_stats.base import array_stats
from scipy import stats

from .report import CheckResult, not_applicable

__all__ = ["mixing_checks", "rhat_threshold", "RHAT_NULL", "ESS_NULL", "RHAT_THRESHOLD"]

RHAT_NULL = "chains agree in function space: rank-normalised R-hat of outputs at probes small"
ESS_NULL = "draws are nearly independent: bulk ESS of outputs at probes >= min(400, N/4)"
RHAT_THRESHOLD = 1.01


def rhat_threshold(num_chains: int, num_draws: int, num_probes: int) -> float:
    """``max(1.01, r*)``: see the module docstring."""
    m, n = 2 * num_chains, num_draws // 2
    q = stats.chi2.ppf(1.0 - 0.001 / (2 * num_probes), m - 1) / (m - 1)
    return float(max(RHAT_THRESHOLD, math.sqrt((n - 1) / n + q / n)))


def mixing_checks(f: np.ndarray) -> tuple[CheckResult, CheckResult]:
    """R-hat and ESS checks from outputs ``f`` of shape ``(chain, draw, probe)``."""
    num_chains, num_draws, _ = f.shape
    if num_draws < 4:
        why = f"only {num_draws} draws per chain (need >= 4)"
        return not_applicable("rhat", RHAT_NULL, why), not_applicable("ess", ESS_NULL, why)
    ary = np.moveaxis(f, 2, 0).astype(np.float64)  # (probe, chain, draw)
    rhat = np.asarray(array_stats.rhat(ary, chain_axis=-2, draw_axis=-1))
    ess = np.asarray(array_stats.ess(ary, chain_axis=-2, draw_axis=-1, method="bulk"))
    finite = np.isfinite(rhat)
    if not finite.any():
        why = "outputs are constant across draws"
        return not_applicable("rhat", RHAT_NULL, why), not_applicable("ess", ESS_NULL, why)
    worst_rhat = float(np.max(rhat[finite]))
    worst_ess = float(np.min(ess[np.isfinite(ess)]))
    total = num_chains * num_draws
    ess_threshold = float(min(400.0, total / 4))
    where = f"{num_chains} chains x {num_draws} draws, {f.shape[2]} probe outputs"
    limit = rhat_threshold(num_chains, num_draws, f.shape[2])
    rhat_check = CheckResult(
        "rhat", worst_rhat, math.nan, limit, bool(worst_rhat < limit),
        RHAT_NULL, f"largest R-hat over probes ({where})",
    )
    ess_check = CheckResult(
        "ess", worst_ess, math.nan, ess_threshold, bool(worst_ess >= ess_threshold),
        ESS_NULL, f"smallest bulk ESS over probes ({where})",
    )
    return rhat_check, ess_check
