"""Tempering pieces: the next beta hits the target ESS, resampling, counting distinct rows."""

import jax
import numpy as np

from consistent_nets.samplers.tempering import next_beta, relative_ess


def test_next_beta_hits_target_ess():
    g = jax.random.exponential(jax.random.key(0), (1000,)) * 50.0
    beta = next_beta(0.0, g, 0.5, 1e8)
    np.testing.assert_allclose(float(relative_ess(-beta * g)), 0.5, atol=1e-3)
    # no room left: stays at beta_max; nothing to weigh: jumps to beta_max
    assert float(next_beta(1e8, g, 0.5, 1e8)) == 1e8
    assert float(next_beta(2.0, g * 0, 0.5, 1e8)) == 1e8



def test_resampling_follows_the_weights():
    """Systematic resampling: each particle's number of copies is within 1 of N w_i."""
    from consistent_nets.samplers.tempering import resample

    log_w = jax.numpy.log(jax.numpy.array([0.5, 0.25, 0.125, 0.125]))
    idx = np.asarray(resample(jax.random.key(0), log_w))
    counts = np.bincount(idx, minlength=4)
    assert counts.sum() == 4 and np.all(np.abs(counts - 4 * np.exp(np.asarray(log_w))) < 1)


def test_count_distinct_counts_equal_rows_once():
    from consistent_nets.samplers.tempering import count_distinct

    u = jax.random.normal(jax.random.key(0), (5, 3))
    assert int(count_distinct(u)) == 5
    assert int(count_distinct(u[jax.numpy.array([0, 0, 1, 2, 2])])) == 3
