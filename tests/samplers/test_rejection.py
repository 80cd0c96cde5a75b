"""Exact rejection: the volume is the acceptance rate, budgets bound the work and the error."""

import math
import time

import jax
import numpy as np
import pytest

import consistent_nets as cn
from conftest import XOR_LOG_VOLUME
from consistent_nets.samplers.rejection import log_upper_bound_no_success, rejection_log_volume


@pytest.fixture(scope="module")
def linear_xor():
    X, y = cn.datasets.xor()
    return cn.Problem(cn.MLP([2, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))


def timed_infeasible(problem, method, **kwargs):
    start = time.perf_counter()
    with pytest.raises(cn.InfeasibleError) as info:
        cn.sample(problem, method=method, num_chains=2, rng_key=jax.random.key(0),
                  progress_bar=False, **{"num_samples": 16, **kwargs})
    return info.value, time.perf_counter() - start


def test_volume_is_the_acceptance_rate_within_its_se(xor_rejection):
    """2000 draws in S: log(k / n) with SE sqrt((1 - p) / k) ≈ 0.022; within 4 SEs of exact
    (the exact value's own SE, 0.003, is negligible)."""
    attrs = xor_rejection.attrs
    assert attrs["num_accepted"] >= 2000
    log_volume, se = rejection_log_volume(attrs["num_accepted"], attrs["num_prior_draws"])
    assert attrs["log_volume"] == pytest.approx(log_volume) and attrs["log_volume_se"] == pytest.approx(se)
    assert se == pytest.approx(math.sqrt(1 / 2000), rel=0.05)
    assert abs(log_volume - XOR_LOG_VOLUME) <= 4 * se


def test_draws_are_the_accepted_prior_draws_in_order(xor_problem):
    tree = cn.sample(xor_problem, method=cn.Rejection(chunk_size=4096), num_samples=30, num_chains=3,
                     rng_key=jax.random.key(2), progress_bar=False)
    assert tree.posterior["w0"].shape == (3, 10, 2, 3)
    assert tree.attrs["num_prior_draws"] % 4096 == 0
    f = cn.predict(xor_problem, tree, xor_problem.X)[..., 0]
    assert np.all(f * np.asarray(xor_problem.y) >= 0)


def test_rejection_small_budget_bound(linear_xor):
    err, seconds = timed_infeasible(linear_xor, cn.Rejection(max_draws=5000, chunk_size=1000))
    assert seconds < 20
    assert err.log_volume_upper_bound == pytest.approx(log_upper_bound_no_success(5000))
    assert "no prior draw out of 5000" in str(err) and "max_draws" in str(err)


def test_rejection_bound_is_a_95_percent_bound():
    # P(0 successes in n | p = bound) = 0.05
    for n in (10, 1000, 2**24):
        p = math.exp(log_upper_bound_no_success(n))
        assert (1 - p) ** n == pytest.approx(0.05, rel=1e-6)


def test_rejection_stopped_before_its_first_draw_is_infeasible(xor_problem):
    """A budget spent before the first chunk (or Ctrl-C while it compiles) knows nothing
    about S: InfeasibleError with the trivial bound log p <= 0, not ZeroDivisionError."""
    assert log_upper_bound_no_success(0) == 0.0
    with pytest.raises(cn.InfeasibleError, match="before the first prior draw") as err:
        cn.sample(xor_problem, method=cn.Rejection(max_seconds=1e-9), num_samples=8, num_chains=2,
                  rng_key=jax.random.key(0), progress_bar=False)
    assert err.value.log_volume_upper_bound == 0.0


def test_rejection_time_budget(linear_xor):
    err, seconds = timed_infeasible(
        linear_xor, cn.Rejection(max_draws=2**40, max_seconds=0.5, chunk_size=2048)
    )
    assert seconds < 20
    assert "max_seconds" in str(err)
    # at least one chunk was drawn; the bound is the 95 % bound for the draws made
    num_draws = int(str(err).split("out of ")[1].split()[0])
    assert num_draws >= 2048 and num_draws % 2048 == 0
    assert err.log_volume_upper_bound == pytest.approx(log_upper_bound_no_success(num_draws))

