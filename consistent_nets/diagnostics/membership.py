"""Membership: the fraction of draws in S, recomputed from the weights.

The stored ``sample_stats.in_set`` is not trusted: every draw's model is evaluated on
the training data again and its largest per-point constraint slack ``max_i slack_i(w)``
over every consistency site is compared with 0 (``w in S`` iff it is ``<= 0``). Draws that a sampler left exactly on
the boundary of S can be outside by float rounding when re-evaluated, so a draw passes
when its slack is ``<= tol`` (default ``1e-5``, far below any margin a user sets).
"""

from __future__ import annotations

import numpy as np

from .report import CheckResult

__all__ = ["membership_check", "NULL"]

NULL = "every draw lies in S (all training points fitted)"


def membership_check(max_slack: np.ndarray, tol: float = 1e-5) -> CheckResult:
    """Threshold check: the fraction of draws with ``max_i slack_i <= tol`` must be 1.

    ``max_slack`` is ``(N,)``: every draw's largest per-point slack over every
    consistency site (:func:`.draws.fit`).
    """
    slack = np.asarray(max_slack)
    inside = slack <= tol
    exact = float(np.mean(slack <= 0.0))
    detail = (
        f"fraction of {slack.size} draws in S (slack <= {tol:g}); "
        f"exactly in S: {exact:.4g}; largest slack {float(np.max(slack)):.3g}"
    )
    fraction = float(np.mean(inside))
    return CheckResult("membership", fraction, float("nan"), 1.0, bool(fraction >= 1.0), NULL, detail)
