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
