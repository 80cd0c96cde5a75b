"""The orbit test: exact draws pass, a sample stuck in one orbit fails."""

import jax
import jax.numpy as jnp
import numpy as np

import consistent_nets as cn
from consistent_nets import symmetry
from consistent_nets.diagnostics import orbit


def test_orbit_passes_exact_and_fails_one_orbit(xor_problem, exact):
    params, _ = exact
    good, index = orbit.orbit_check(xor_problem.net, params)
    assert good.p_value > 0.01 and index.max() < 48
    canon, _ = jax.vmap(lambda p: symmetry.canonicalize(p, xor_problem.net))({k: jnp.asarray(v) for k, v in params.items()})
    bad, _ = orbit.orbit_check(xor_problem.net, {k: np.asarray(v) for k, v in canon.items()})
    assert bad.p_value < 1e-10


def test_orbit_names_a_group_beyond_a_floats_range():
    """Three hidden layers of 64 tanh units: |G| = (64! 2^64)^3 has 310 digits; the check
    prints it instead of raising OverflowError (as orbit_index's refusal now does too)."""
    net = cn.MLP([2, 64, 64, 64, 1])
    assert symmetry.group_size(net) > 10**308
    prior = {k: np.asarray(v) for k, v in cn.BoxPrior(3.0).sample(jax.random.key(1), net.param_shapes, 30).items()}
    result, index = orbit.orbit_check(net, prior)
    assert index is None and "e+" in result.detail
    digits = str(symmetry.group_size(net))
    assert symmetry.format_size(symmetry.group_size(net)) == f"{digits[0]}.{digits[1:3]}e+{len(digits) - 1}"
    assert symmetry.format_size(720) == "720"


def test_orbit_for_large_groups_uses_unit_marginals():
    X, y = cn.datasets.xor()
    problem = cn.Problem(cn.MLP([2, 6, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
    assert symmetry.group_size(problem.net) > 5 * 1000
    prior = {k: np.asarray(v) for k, v in cn.BoxPrior(3.0).sample(jax.random.key(1), problem.net.param_shapes, 1000).items()}
    good, index = orbit.orbit_check(problem.net, prior)
    assert index is None and good.p_value > 0.01 and "unit 0" in good.detail
    # one unit always first and positive: stuck in a subset of the orbit
    b0 = np.abs(prior["b0"])
    b0[:, 0] = 0.0
    stuck = dict(prior, b0=b0)
    bad, _ = orbit.orbit_check(problem.net, stuck)
    assert bad.p_value < 1e-10
