"""The reference check: exact draws pass against an exact reference; a sample missing a
region of S (30 % of it, in function space) fails, which the energy distance alone missed."""

import jax
import numpy as np

import consistent_nets as cn
from consistent_nets.diagnostics import two_sample
from consistent_nets.diagnostics.draws import flat_params
from conftest import depth_features

PROBE = np.array([[0.5, -0.25]], dtype=np.float32)


def _features(problem, tree, X_random):
    params, _ = flat_params(tree, problem.net)
    return depth_features(problem, params, X_random)


def test_missing_region_fails_and_exact_draws_pass(xor_problem, xor_rejection):
    other = cn.sample(xor_problem, method="rejection", num_samples=1000, rng_key=jax.random.key(21), progress_bar=False)
    f_ref = cn.predict(xor_problem, xor_rejection, PROBE)[..., 0, 0].ravel()
    f_other = cn.predict(xor_problem, other, PROBE)[..., 0, 0].ravel()
    X_random = xor_problem.probe_points(jax.random.key(0), 32)[xor_problem.num_data :]
    ref = _features(xor_problem, xor_rejection, X_random)
    sample = _features(xor_problem, other, X_random)
    missing = sample[f_other <= np.quantile(f_ref, 0.7)][:400]  # 30 % of S absent
    exact = sample[:400]
    key = jax.random.key(1)
    good = two_sample.reference_check(exact, ref, key, num_permutations=999)
    bad = two_sample.reference_check(missing, ref, key, num_permutations=999)
    assert good.p_value > 0.01, good
    assert bad.p_value < 1e-4, bad
