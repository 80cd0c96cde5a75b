"""Importance weights: Pareto k-hat of the draws' own weights, per chain (PSIS).

A sample whose draws carry importance weights (an importance sampler, a population
returned before resampling) represents the target only through them; when they are
heavy-tailed a few draws dominate and the sample's spread over S is unreliable. Such a
sample stores the weights *of the returned draws* as a variable ``log_weights`` of dims
``(chain, draw)`` in ``sample_stats`` (or in any other group of the tree). The library's
own samplers return unweighted draws (SMC's final phase resamples the in-S particles
with equal weights), so for them the check is not applicable. For
each chain ArviZ's PSIS (Vehtari et al. 2024) fits a generalised Pareto to the upper
tail; the check passes when every ``k-hat <= min(1 - 1 / log10(S), 0.7)`` with ``S`` the
number of weights per chain. Without ``log_weights`` the check is not applicable.
"""

from __future__ import annotations

import math

import numpy as np
from arviz_stats.base import array_stats

from .report import CheckResult, not_applicable

__all__ = ["find_log_weights", "khat_threshold", "weights_check", "NULL"]

NULL = "the final importance weights are light-tailed: Pareto k-hat below the PSIS threshold"


def find_log_weights(tree) -> np.ndarray | None:
    """``log_weights`` as ``(chain, draw)``, from ``sample_stats`` first, else any group."""
    nodes = [tree["sample_stats"]] if "sample_stats" in tree.children else []
    nodes += [node for node in tree.subtree if node.name != "sample_stats"]
    for node in nodes:
        if "log_weights" in node.data_vars:
            da = node["log_weights"]
            if set(da.dims) == {"chain", "draw"}:
                return np.asarray(da.transpose("chain", "draw").values, dtype=np.float64)
    return None


def _tail_is_an_atom(log_weights: np.ndarray) -> bool:
    """Whether the PSIS tail (the largest ``min(0.2 S, 3 sqrt(S))`` weights) is one value."""
    size = int(math.ceil(min(0.2 * log_weights.size, 3.0 * math.sqrt(log_weights.size))))
    tail = np.sort(log_weights)[-(size + 1) :]
    return bool(np.ptp(tail) < 1e-12)


def _khat(log_weights: np.ndarray) -> float:
    try:
        # psislw follows the LOO convention: its input is minus the log weights
        return float(array_stats.psislw(-(log_weights - log_weights.max()))[1])
    except ValueError as err:
        if "tail values are the same" not in str(err):
            raise
        return -math.inf  # ArviZ's tail is one repeated value: bounded, as above


def khat_threshold(num: int) -> float:
    return min(1.0 - 1.0 / math.log10(num), 0.7)


def weights_check(tree) -> CheckResult:
    log_weights = find_log_weights(tree)
    if log_weights is None:
        return not_applicable("weights", NULL, "no log_weights (chain, draw) in the tree")
    num = log_weights.shape[1]
    if num < 20:
        return not_applicable("weights", NULL, f"only {num} weights per chain (need >= 20)")
    khat = np.empty(log_weights.shape[0])
    for c, lw in enumerate(log_weights):
        finite = lw[np.isfinite(lw)]
        if finite.size < 20:
            khat[c] = np.inf
        elif np.ptp(finite) < 1e-12 or _tail_is_an_atom(finite):
            # equal weights, or an upper tail that is one repeated value (SMC: every
            # particle already in S has weight exp(0)): bounded weights, no heavy tail
            khat[c] = -np.inf
        else:
            khat[c] = _khat(finite)
    worst = float(np.max(khat))
    threshold = khat_threshold(num)
    w = np.exp(log_weights - np.max(log_weights, axis=1, keepdims=True))
    rel_ess = np.sum(w, axis=1) ** 2 / np.sum(w**2, axis=1) / num
    detail = (
        f"largest Pareto k-hat over {log_weights.shape[0]} chains of {num} weights "
        f"(smallest relative ESS {float(np.min(rel_ess)):.3g})"
    )
    return CheckResult("weights", worst, math.nan, threshold, bool(worst <= threshold), NULL, detail)
