"""Function-space R-hat and ESS: network outputs at probe points, across chains.

Weight-space R-hat is meaningless for networks: two chains sampling different but
equivalent orbits (permuted or sign-flipped hidden units) have the same function and
different weights. Outputs ``f_w(x_k)`` at probe points ``x_k`` are invariant, so their
rank-normalised split R-hat (Vehtari et al. 2021, from ArviZ) measures whether the
chains agree. The ESS check counts effectively independent draws as the draws'
structure requires (:func:`consistent_nets.samplers.effective.effective_draws`: ArviZ's
bulk ESS of the outputs for chains, lineage groups and between-population spread for
SMC populations).

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

__all__ = ["rhat_check", "ess_check", "rhat_threshold", "RHAT_NULL", "ESS_NULL", "RHAT_THRESHOLD"]

RHAT_NULL = "chains agree in function space: rank-normalised R-hat of outputs at probes small"
ESS_NULL = "the sample is worth min(400, N/4) independent draws in function space (N rows)"
RHAT_THRESHOLD = 1.01


def rhat_threshold(num_chains: int, num_draws: int, num_probes: int) -> float:
    """``max(1.01, r*)``: see the module docstring."""
    m, n = 2 * num_chains, num_draws // 2
    q = stats.chi2.ppf(1.0 - 0.001 / (2 * num_probes), m - 1) / (m - 1)
    return float(max(RHAT_THRESHOLD, math.sqrt((n - 1) / n + q / n)))


def rhat_check(f: np.ndarray) -> CheckResult:
    """R-hat of outputs ``f`` of shape ``(chain, draw, probe)`` of (nearly) independent draws.

    ``diagnose`` passes one draw per dependence block (see :mod:`.blocks`), so the limit
    computed for independent draws applies to SMC populations and thinned MCMC chains alike.
    """
    num_chains, num_draws, _ = f.shape
    if num_chains < 2:
        return not_applicable("rhat", RHAT_NULL, "one chain: R-hat compares chains (run num_chains >= 2)")
    if num_draws < 4:
        return not_applicable("rhat", RHAT_NULL, f"only {num_draws} independent draws per chain (need >= 4)")
    with np.errstate(divide="ignore", invalid="ignore"):  # non-finite outputs, no within-chain spread: below
        varying = ~(np.var(f.reshape(-1, f.shape[2]), axis=0) == 0)  # an output with a nan or inf is kept (and named)
        if not varying.any():
            return not_applicable("rhat", RHAT_NULL, "outputs are constant across draws")
        ary = np.moveaxis(f[..., varying], 2, 0).astype(np.float64)  # (probe, chain, draw)
        rhat = np.asarray(array_stats.rhat(ary, chain_axis=-2, draw_axis=-1))
    # inf: an output constant within every chain but not between them (stuck chains), a
    # failure; nan: no R-hat (non-finite outputs), named in the detail, never the verdict
    undefined = np.isnan(rhat)
    if undefined.all():
        return not_applicable("rhat", RHAT_NULL, "no probe output has an R-hat (non-finite outputs)")
    worst = float(np.max(rhat[~undefined]))
    limit = rhat_threshold(num_chains, num_draws, int(np.sum(~undefined)))  # the outputs compared
    where = f"{num_chains} chains x {num_draws} independent draws, {ary.shape[0]} probe outputs"
    if undefined.any():
        where += f", {int(undefined.sum())} without an R-hat (non-finite outputs)"
    return CheckResult("rhat", worst, math.nan, limit, bool(worst < limit), RHAT_NULL, f"largest R-hat over probes ({where})")


def ess_check(ess: float, num_rows: int, how: str) -> CheckResult:
    """Threshold check: the sample is worth ``min(400, rows / 4)`` independent draws.

    ``ess`` is the effective number of independent draws in function space, estimated
    as the draws' structure requires (:func:`consistent_nets.samplers.effective.effective_draws`):
    ArviZ's bulk ESS for chains, lineage groups and between-population spread for SMC.
    """
    if not math.isfinite(ess):
        return not_applicable("ess", ESS_NULL, f"no effective sample size ({how})")
    threshold = float(min(400.0, num_rows / 4))
    detail = f"effective independent draws of {num_rows} rows in function space ({how})"
    return CheckResult("ess", float(ess), math.nan, threshold, bool(ess >= threshold), ESS_NULL, detail)
