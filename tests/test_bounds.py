"""Bidirectional bounds on a planted problem: forward SMC below, reverse annealing above."""

import jax
import numpy as np
import pytest

import consistent_nets as cn

NET = cn.MLP([2, 3, 1])


@pytest.fixture(scope="module")
def planted():
    X, y, w_star = cn.datasets.teacher(NET, n=8, seed=1)
    return cn.Problem(NET, X, y, cn.BoxPrior(3.0), cn.Margin(0.0)), w_star


def test_the_sandwich_holds_the_exact_volume(planted):
    """Exact log vol from 2000 rejection draws (SE ~0.02): within the bounds up to 4 SEs."""
    problem, w_star = planted
    bounds = cn.bound_log_volume(problem, w_star, rng_key=jax.random.key(0), num_samples=400, num_reverse=16,
                                 refine=5, reverse_steps=5)
    exact = cn.sample(problem, method="rejection", num_samples=2000, rng_key=jax.random.key(5), progress_bar=False)
    truth, truth_se = exact.attrs["log_volume"], exact.attrs["log_volume_se"]
    assert bounds.lower - 4 * np.hypot(bounds.lower_se, truth_se) <= truth
    assert truth <= bounds.upper + 4 * np.hypot(bounds.upper_se, truth_se)
    assert 0 < bounds.gap < 2 and np.all(bounds.reverse_log_weights >= 0)
    assert bounds.tree.attrs["log_volume"] == bounds.lower
    assert "constant_data" in bounds.tree.children and bounds.tree.attrs["cn_problem"] == "Problem"  # cn.load-able
    assert "gap" in str(bounds)


def test_bad_arguments(planted):
    problem, w_star = planted
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="w_star lacks"):
        cn.bound_log_volume(problem, {"w0": w_star["w0"]}, rng_key=key)
    outside = {k: (-v if k in ("w1", "b1") else v) for k, v in w_star.items()}  # -f: every label wrong
    with pytest.raises(ValueError, match="w_star must lie in S"):
        cn.bound_log_volume(problem, outside, rng_key=key)
    # the output layer scaled (the same signs, so still in S) to the box's edge, then past it
    top, site = max((float(np.max(np.abs(w_star[k]))), k) for k in ("w1", "b1"))
    for edge in (3.0, 5.0):
        scaled = {k: (np.asarray(v) * np.float32(edge / top) if k in ("w1", "b1") else v) for k, v in w_star.items()}
        at = np.argmax(np.abs(scaled[site]))
        scaled[site].flat[at] = np.sign(scaled[site].flat[at]) * edge  # exactly on the edge, then past it
        with pytest.raises(ValueError, match=rf"w_star must lie inside the prior's support.*'{site}'"):
            cn.bound_log_volume(problem, scaled, rng_key=key)
    with pytest.raises(ValueError, match="method"):
        cn.bound_log_volume(problem, w_star, rng_key=key, method="rejection")
    with pytest.raises(ValueError, match="num_reverse"):
        cn.bound_log_volume(problem, w_star, rng_key=key, num_reverse=0)


def test_a_population_that_needed_no_tempering():
    """Two data points: at min_fraction_in_set=0.3 population 0's prior draws already meet
    it (no stage of its own), so the path comes from population 1 (it raised
    ZeroDivisionError); at 0.01 no population tempers: a ValueError, nothing to reverse."""
    net = cn.MLP([2, 2, 1])
    X, y, w_star = cn.datasets.teacher(net, n=2, seed=1)
    problem = cn.Problem(net, X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
    run = dict(num_samples=64, num_chains=2, num_reverse=4, rng_key=jax.random.key(0))
    bounds = cn.bound_log_volume(problem, w_star, method=cn.SMC(min_fraction_in_set=0.3), **run)
    active = bounds.tree["smc_stages"]["active"].values
    assert not active[0].any() and active[1].any()
    assert np.isfinite([bounds.lower, bounds.upper]).all()
    with pytest.raises(ValueError, match="no population needed a tempering stage"):
        cn.bound_log_volume(problem, w_star, method=cn.SMC(min_fraction_in_set=0.01), **run)
