"""Two-sample test against a reference: energy distance and per-feature KS, combined.

For samples ``x_1..x_n`` (the draws) and ``y_1..y_m`` (the reference, e.g. exact
rejection draws), with ``f`` the feature vector of a draw (sorted training depths and
outputs at random probe points, see :func:`.draws.depth_features`), the energy
distance (Székely & Rizzo 2004) is

    E = 2 mean |f(x) - f(y)| - mean_{i != j} |f(x_i) - f(x_j)| - mean_{i != j} |f(y_i) - f(y_j)|,

zero in expectation iff the two output laws agree (the within-sample means are
U-statistics, so ``E`` is unbiased for the population energy distance). The p-value is
from a permutation test: ``(1 + #{E_perm >= E}) / (1 + B)`` over ``B`` random relabellings
of the pooled sample, exact in level for any sample size. Its cost grows with the square
of the sample sizes, so it runs on random subsets of at most ``max_energy`` draws each.

The energy distance averages over all features, which dilutes a difference confined to a
part of function space (draws missing where the output at one probe is positive). So the
check also runs a two-sample Kolmogorov-Smirnov test per feature on *every* draw and
reference draw (SciPy), Bonferroni over features; the reported p-value is the smaller of
the two, doubled (Bonferroni over the two tests). Both assume independent draws within
each sample: ``diagnose`` passes one draw per dependence block.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from .draws import subsample
from .report import CheckResult

__all__ = ["energy_test", "reference_check", "max_ks_two_sample", "witness_statistics", "NULL"]

NULL = "the draws' function-space features have the same law as the reference's"


@jax.jit
def _energy_stats(dist: jax.Array, labels: jax.Array) -> jax.Array:
    """Energy statistic for each row of ``labels`` (1 = draw, 0 = reference)."""
    a = labels.astype(dist.dtype)
    b = 1.0 - a
    n, m = jnp.sum(a, axis=1), jnp.sum(b, axis=1)
    da, db = a @ dist, b @ dist
    xy = jnp.sum(da * b, axis=1) / (n * m)
    xx = jnp.sum(da * a, axis=1) / (n * (n - 1))
    yy = jnp.sum(db * b, axis=1) / (m * (m - 1))
    return 2.0 * xy - xx - yy


def energy_test(x: np.ndarray, y: np.ndarray, rng_key, num_permutations: int = 1599) -> tuple[float, float]:
    """Energy distance between rows of ``x`` and ``y`` and its permutation p-value."""
    z = jnp.asarray(np.concatenate([x, y]), dtype=jnp.float32)
    sq = jnp.sum(z**2, axis=1)
    dist = jnp.sqrt(jnp.maximum(sq[:, None] + sq[None, :] - 2.0 * z @ z.T, 0.0))
    dist = dist * (1.0 - jnp.eye(z.shape[0], dtype=dist.dtype))
    observed = jnp.concatenate([jnp.ones(len(x), bool), jnp.zeros(len(y), bool)])
    stat = float(_energy_stats(dist, observed[None])[0])
    chunk = 400  # one compiled shape; the last chunk's extra permutations are dropped
    exceed = 0
    for start in range(0, num_permutations, chunk):
        keys = jax.random.split(jax.random.fold_in(rng_key, start), chunk)
        permuted = jax.vmap(lambda k: jax.random.permutation(k, observed))(keys)
        values = np.asarray(_energy_stats(dist, permuted))[: num_permutations - start]
        exceed += int(np.sum(values >= stat))
    p_value = float((1 + exceed) / (1 + num_permutations))
    return stat, p_value


def reference_check(
    x: np.ndarray, y: np.ndarray, rng_key, num_permutations: int = 1599, max_energy: int = 600
) -> CheckResult:
    """Energy permutation test (subsets) and per-feature KS (all draws), Bonferroni-combined.

    ``x`` are the draws' features ``(n, K)``, ``y`` the reference's ``(m, K)``. The
    statistic is the largest per-feature KS distance.
    """
    k_x, k_y, k_perm = jax.random.split(rng_key, 3)
    sub_x = subsample(k_x, len(x), max_energy)
    sub_y = subsample(k_y, len(y), max_energy)
    energy, p_energy = energy_test(x[sub_x], y[sub_y], k_perm, num_permutations)
    varying = (np.ptp(x, axis=0) > 0) | (np.ptp(y, axis=0) > 0)
    ks = stats.ks_2samp(x[:, varying], y[:, varying], axis=0)
    p_ks = min(1.0, float(np.min(ks.pvalue)) * int(varying.sum())) if varying.any() else 1.0
    p_value = min(1.0, 2.0 * min(p_energy, p_ks))
    largest = float(np.max(ks.statistic)) if varying.any() else 0.0
    detail = (
        f"{x.shape[1]} function-space features, {len(x)} draws vs {len(y)} reference draws: "
        f"largest KS {largest:.3g} (p {p_ks:.2g}, Bonferroni over features); energy distance "
        f"{energy:.3g} on {len(sub_x)} vs {len(sub_y)} (p {p_energy:.2g}, {num_permutations} permutations)"
    )
    return CheckResult("reference", largest, p_value, math.nan, True, NULL, detail)


def max_ks_two_sample(x: np.ndarray, y: np.ndarray) -> tuple[float, int, float]:
    """Largest two-sample Kolmogorov distance over the columns of ``x`` and ``y``.

    Returns the distance, the number of columns and the effective size ``n m / (n + m)``.
    """
    x = np.asarray(x).reshape(len(x), -1)
    y = np.asarray(y).reshape(len(y), -1)
    result = stats.ks_2samp(x, y, axis=0)
    return float(np.max(result.statistic)), x.shape[1], len(x) * len(y) / (len(x) + len(y))


def witness_statistics(max_slack: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Two invariant 1-D summaries per draw: depth in S and the norm of the outputs.

    ``depth = -max_i slack_i(w)`` (how far inside S the draw is) and ``|f|``, the norm of
    the draw's function-space outputs (training inputs and probes); shape ``(N, 2)``.
    Fixed in advance, so their Kolmogorov distances are honest witnesses for the
    report's distance.
    """
    return np.stack([-np.asarray(max_slack), np.linalg.norm(f, axis=1)], axis=1)
