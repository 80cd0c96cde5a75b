"""Function-space R-hat and ESS: network outputs at probe points, across chains.

Weight-space R-hat is meaningless for networks: two chains sampling different but
equivalent orbits (permuted or sign-flipped hidden units) have the same function and
different weights. Outputs ``f_w(x_k)`` at probe points ``x_k`` are invariant, so their
rank-normalised split R-hat (Vehtari et al. 2021) and bulk ESS, from ArviZ, measure
whether the chains agree and how many effectively independent draws there are.

Thresholds: ``max_k Rhat_k < 1.01`` and ``min_k ESS_k >= min(400, N / 4)`` with ``N``
the number of draws (400 = 100 per chain for four chains; ``N / 4`` for small samples,
which independent draws, ESS ≈ N, clear easily).
"""

from __future__ import annotations

import math

import numpy as np
from arviz_stats.base import array_stats

from .report import CheckResult, not_applicable

__all__ = ["mixing_checks", "RHAT_NULL", "ESS_NULL", "RHAT_THRESHOLD"]

RHAT_NULL = "chains agree in function space: rank-normalised R-hat of outputs at probes < 1.01"
ESS_NULL = "draws are nearly independent: bulk ESS of outputs at probes >= min(400, N/4)"
RHAT_THRESHOLD = 1.01


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
    rhat_check = CheckResult(
        "rhat", worst_rhat, math.nan, RHAT_THRESHOLD, bool(worst_rhat < RHAT_THRESHOLD),
        RHAT_NULL, f"largest R-hat over probes ({where})",
    )
    ess_check = CheckResult(
        "ess", worst_ess, math.nan, ess_threshold, bool(worst_ess >= ess_threshold),
        ESS_NULL, f"smallest bulk ESS over probes ({where})",
    )
    return rhat_check, ess_check
