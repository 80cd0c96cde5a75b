"""Volume agreement: independent estimates of log vol(S) must agree within their SEs.

Given estimates ``x_i`` with standard errors ``s_i`` (from independent runs' attrs
``log_volume`` / ``log_volume_se``, from the reference tree, and from per-chain variables
``log_volume`` *with* ``log_volume_se`` of dim ``chain`` in ``sample_stats`` or
``smc_stages``), the check is Welch's (1951) test that means with unequal, *estimated*
variances are equal:

    w_i = 1 / s_i^2,   m = sum_i w_i x_i / sum_i w_i,   A = sum_i w_i (x_i - m)^2 / (k - 1),
    L = sum_i (1 - w_i / sum_j w_j)^2 / nu_i,   F = A / (1 + 2 (k - 2) L / (k^2 - 1)),

``F ~ F(k - 1, (k^2 - 1) / (3 L))`` under agreement. ``nu_i`` are the degrees of freedom
of each SE (attrs ``log_volume_se_dof``: populations minus one for ``smc`` and
``anneal``, whose SE is the spread of 4 populations by default; twice the accepted
draws for rejection; infinite where a tree does not say). With every ``nu_i`` infinite
this is Cochran's Q, chi-square with ``k - 1`` degrees of freedom; with SEs from a few
populations Cochran's Q takes a lucky small SE at face value and false-alarms several
times more often than its level (``tests/diagnostics/test_volume.py`` measures both).
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

__all__ = ["volume_estimates", "volume_check", "welch_test", "NULL"]

NULL = "independent estimates of log vol(S) agree within their standard errors"


def _finite_pair(x, s) -> bool:
    return x is not None and s is not None and math.isfinite(x) and math.isfinite(s) and s > 0


def _dof(value) -> float:
    dof = math.inf if value is None else float(value)
    return dof if dof > 0 else math.inf


def volume_estimates(trees) -> list[tuple[str, float, float, float]]:
    """``(label, log_volume, se, se_dof)`` from every tree's attrs and per-chain variables."""
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
                    found.append((f"run {i} ({method}) chain {c}", float(xc), float(sc), math.inf))
        elif x is not None and s is not None and _finite_pair(float(x), float(s)):
            found.append((f"run {i} ({method})", float(x), float(s), _dof(tree.attrs.get("log_volume_se_dof"))))
    return found


def welch_test(x, se, dof) -> tuple[float, float, float, float]:
    """Welch's test that estimates ``x`` with standard errors ``se`` (of ``dof`` degrees of
    freedom each, ``inf`` for a known SE) estimate one number: ``(F, p, df2, pooled mean)``.

    ``df2`` is ``inf`` when every ``dof`` is (then ``F (k - 1)`` is Cochran's Q).
    """
    x, se, dof = (np.asarray(a, dtype=np.float64) for a in (x, se, dof))
    k = x.size
    if k < 2:
        raise ValueError(f"x must hold at least two estimates, got {k}")
    w = 1.0 / se**2
    share = w / np.sum(w)
    mean = float(np.sum(share * x))
    a = float(np.sum(w * (x - mean) ** 2)) / (k - 1)
    lam = float(np.sum((1.0 - share) ** 2 / dof))
    if lam == 0.0:
        return a, float(stats.chi2.sf(a * (k - 1), df=k - 1)), math.inf, mean
    f = a / (1.0 + 2.0 * (k - 2) * lam / (k**2 - 1))
    df2 = (k**2 - 1) / (3.0 * lam)
    return f, float(stats.f.sf(f, k - 1, df2)), df2, mean


def volume_check(trees) -> CheckResult:
    """Welch's test of agreement of the log-volume estimates in ``trees`` (see the module)."""
    found = volume_estimates(trees)
    if len(found) < 2:
        return not_applicable(
            "volume", NULL, f"{len(found)} log-volume estimate(s) with an SE: pass runs=[...] or a reference"
        )
    x = np.array([f[1] for f in found])
    nu = [e[3] for e in found]
    f, p_value, df2, mean = welch_test(x, [e[2] for e in found], nu)
    dof = "known SEs" if math.isinf(df2) else f"F({len(found) - 1}, {df2:.3g}), SEs of {min(nu):.3g} to {max(nu):.3g} dof"
    detail = f"Welch test of {len(found)} estimates, {dof} (pooled log vol {mean:.4g}, spread {np.ptp(x):.3g})"
    return CheckResult("volume", f, p_value, math.nan, True, NULL, detail)
