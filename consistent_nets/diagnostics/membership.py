"""Membership: the fraction of draws in S, recomputed from the weights.

The stored ``sample_stats.in_set`` is not trusted: every draw's network is evaluated on
the training data again and its largest per-point constraint slack ``max_i slack_i(w)``
is compared with 0 (``w in S`` iff it is ``<= 0``). Draws that a sampler left exactly on
the boundary of S can be outside by float rounding when re-evaluated, so a draw passes
when its slack is ``<= tol`` (default ``1e-5``, far below any margin a user sets).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .report import CheckResult

__all__ = ["max_slack", "membership_check", "NULL"]

NULL = "every draw lies in S (all training points fitted)"


def max_slack(problem, params: dict) -> np.ndarray:
    """``max_i slack_i(w)`` for every flattened draw ``(N,)``: ``<= 0`` exactly in S."""

    def one(p):
        return jnp.max(problem.constraint.point_slack(problem.net.apply(p, problem.X), problem.y))

    return np.asarray(jax.jit(jax.vmap(one))({k: jnp.asarray(v) for k, v in params.items()}))


def membership_check(problem, params: dict, tol: float = 1e-5) -> CheckResult:
    """Threshold check: the fraction of draws with slack ``<= tol`` must be 1."""
    slack = max_slack(problem, params)
    inside = slack <= tol
    exact = float(np.mean(slack <= 0.0))
    detail = (
        f"fraction of {slack.size} draws in S (slack <= {tol:g}); "
        f"exactly in S: {exact:.4g}; largest slack {float(np.max(slack)):.3g}"
    )
    fraction = float(np.mean(inside))
    return CheckResult("membership", fraction, float("nan"), 1.0, bool(fraction >= 1.0), NULL, detail)


def model_membership_check(target, params: dict) -> CheckResult:
    """The same for a NumPyro model: ``in_set`` of every consistency site, no tolerance."""
    inside = np.asarray(
        jax.jit(jax.vmap(target.in_set_params))({k: jnp.asarray(v) for k, v in params.items()})
    )
    fraction = float(np.mean(inside))
    detail = f"fraction of {inside.size} draws in S (every consistency site)"
    return CheckResult("membership", fraction, float("nan"), 1.0, bool(fraction >= 1.0), NULL, detail)
