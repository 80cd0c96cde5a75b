"""One number for "how far from uniform on S": a total-variation lower bound.

For any statistic ``T`` of a draw (and of independent auxiliary randomness, such as the
chord direction), the data-processing inequality gives

    TV(law of w, uniform on S) >= TV(law of T(w), law of T under uniform on S)
                               >= sup_t |P(T <= t) - P_0(T <= t)|,

the Kolmogorov distance. ``distance`` is the largest empirical Kolmogorov distance over
the *witnesses* available: the chord position (exact null law Uniform(0, 1), always), and,
with a reference sample, two fixed invariant summaries (the depth in S and the norm of
the outputs at the probe points, two-sample). It lies in
``[0, 1]``; for a sample exactly uniform on S it is sampling noise of order ``1/sqrt(N)``,
and ``distance_noise`` is its 95 % quantile under that null (Kolmogorov's limit law at
level ``0.05 / K`` for ``K`` witnesses, Bonferroni).
"""

from __future__ import annotations

import math

from scipy import stats

__all__ = ["Witness", "combine"]


class Witness(tuple):
    """``(distance, count, effective_size)`` of a group of Kolmogorov witnesses."""

    def __new__(cls, distance: float, count: int, effective_size: float):
        return super().__new__(cls, (float(distance), int(count), float(effective_size)))


def combine(witnesses: list[Witness]) -> tuple[float, float]:
    """``(distance, distance_noise)``; ``(nan, nan)`` without witnesses."""
    witnesses = [w for w in witnesses if w[1] > 0 and w[2] > 0 and math.isfinite(w[0])]
    if not witnesses:
        return math.nan, math.nan
    total = sum(w[1] for w in witnesses)
    quantile = float(stats.kstwobign.ppf(1.0 - 0.05 / total))
    distance = max(w[0] for w in witnesses)
    noise = max(quantile / math.sqrt(w[2]) for w in witnesses)
    return distance, noise
