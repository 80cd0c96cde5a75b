"""Volume agreement: independent estimates of log vol(S) must agree within their SEs.

Given estimates ``x_i`` with standard errors ``s_i`` (from independent runs' attrs
``log_volume`` / ``log_volume_se``, from the reference tree, and from per-chain variables
``log_volume`` *with* ``log_volume_se`` of dim ``chain`` in ``sample_stats`` or
``smc_stages``), Cochran's statistic

    Q = sum_i (x_i - m)^2 / s_i^2,    m = sum_i (x_i / s_i^2) / sum_i (1 / s_i^2),

is chi-square with ``k - 1`` degrees of freedom when they estimate the same number.
A sampler that misses a mode of S underestimates vol(S) and disagrees with the others.
Estimates with a missing or non-finite SE (the SGD heuristic has none; per-chain SMC
estimates alone have none) are skipped; with fewer than two estimates left the check is
*not applicable* and does not count towards the verdict.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .report import CheckResult, not_applicable

__all__ = ["volume_estimates", "volume_check", "NULL"]

NULL = "independent estimates of log vol(S) agree within their standard errors"


def _finite_pair(x, s) -> bool:
    return x is not None and s is not None and math.isfinite(x) and math.isfinite(s) and s > 0


def volume_estimates(trees) -> list[tuple[str, float, float]]:
    """``(label, log_volume, se)`` from every tree's attrs and per-chain variables."""
    found = []
    for i, tree in enumerate(trees):
        if tree is None:
            continue
        method = str(tree.attrs.get("method", "run"))
        x, s = tree.attrs.get("log_volume"), tree.attrs.get("log_volume_se")
        per_chain = None
        for group in ("sample_stats", "smc_stages"):
            if group in tree.children:
                ds = tree[group].to_dataset()
                if {"log_volume", "log_volume_se"} <= set(ds.data_vars) and ds["log_volume"].dims == ("chain",):
                    per_chain = ds
                    break
        if per_chain is not None:
            for c, (xc, sc) in enumerate(zip(per_chain["log_volume"].values, per_chain["log_volume_se"].values)):
                if _finite_pair(float(xc), float(sc)):
                    found.append((f"run {i} ({method}) chain {c}", float(xc), float(sc)))
        elif x is not None and s is not None and _finite_pair(float(x), float(s)):
            found.append((f"run {i} ({method})", float(x), float(s)))
    return found


def volume_check(trees) -> CheckResult:
    """Cochran's Q test of agreement of the log-volume estimates in ``trees``."""
    found = volume_estimates(trees)
    if len(found) < 2:
        return not_applicable(
            "volume", NULL, f"{len(found)} log-volume estimate(s) with an SE: pass runs=[...] or a reference"
        )
    x = np.array([f[1] for f in found])
    s = np.array([f[2] for f in found])
    w = 1.0 / s**2
    mean = float(np.sum(w * x) / np.sum(w))
    q = float(np.sum(w * (x - mean) ** 2))
    p_value = float(stats.chi2.sf(q, df=len(found) - 1))
    detail = f"Cochran Q of {len(found)} estimates (pooled log vol {mean:.4g}, spread {np.ptp(x):.3g})"
    return CheckResult("volume", q, p_value, math.nan, True, NULL, detail)
