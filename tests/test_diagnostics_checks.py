"""Every check on a sample it must pass and on one it must fail."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

import consistent_nets as cn
from consistent_nets import symmetry
from consistent_nets.diagnostics import chord, membership, mixing, orbit, volume, weights
from consistent_nets.diagnostics.draws import flat_params, outputs, probe_points
from consistent_nets._output import build_tree


@pytest.fixture(scope="module")
def exact(xor_rejection, xor_problem):
    return flat_params(xor_rejection, xor_problem.net)


def _tree_from(params, num_chains, attrs=None, stats=None):
    draws = {k: v.reshape((num_chains, -1) + v.shape[1:]) for k, v in params.items()}
    shape = next(iter(draws.values())).shape[:2]
    return build_tree(draws, stats or {"in_set": np.ones(shape, bool)}, attrs or {"method": "test"})


def test_membership(xor_problem, exact):
    params, _ = exact
    assert membership.membership_check(xor_problem, params).passed
    prior = {k: np.asarray(v) for k, v in cn.BoxPrior(3.0).sample(jax.random.key(0), xor_problem.net.param_shapes, 500).items()}
    result = membership.membership_check(xor_problem, prior)
    assert result.passed is False
    # about 0.56 % of prior draws lie in S for XOR (log vol ≈ -5.2)
    assert result.statistic < 0.05


def test_rhat_and_ess_pass_on_exact_draws(xor_problem, exact):
    params, (c, d) = exact
    f = outputs(xor_problem, params, probe_points(xor_problem, jax.random.key(0)))
    rhat, ess = mixing.mixing_checks(f.reshape(c, d, -1))
    assert rhat.passed and ess.passed, (rhat, ess)


def test_rhat_fails_for_chains_stuck_in_different_modes(xor_problem, exact):
    params, (c, d) = exact
    f = outputs(xor_problem, params, probe_points(xor_problem, jax.random.key(0)))
    # each chain sees one region of S only: sort the draws by the output at a probe point
    order = np.argsort(f[:, 5])
    rhat, _ = mixing.mixing_checks(f[order].reshape(c, d, -1))
    assert rhat.passed is False and rhat.statistic > 1.1


def test_ess_fails_for_a_degenerate_population(xor_problem, exact):
    params, (c, d) = exact
    f = outputs(xor_problem, params, probe_points(xor_problem, jax.random.key(0)))
    repeated = np.repeat(f[: c * d // 20], 20, axis=0)  # each draw copied 20 times
    _, ess = mixing.mixing_checks(repeated.reshape(c, d, -1))
    assert ess.passed is False


def test_chord_passes_exact_and_fails_sgd(xor_problem, exact, xor_sgd):
    params, _ = exact
    sub = {k: v[:800] for k, v in params.items()}
    good, u = chord.chord_check(xor_problem, sub, jax.random.key(0))
    assert good.p_value > 0.01 and u.size == 800
    # Kolmogorov distance of 800 uniforms: 99.9 % quantile ≈ 1.95 / sqrt(800)
    assert good.statistic < 1.95 / np.sqrt(800)
    bad, u_sgd = chord.chord_check(xor_problem, flat_params(xor_sgd, xor_problem.net)[0], jax.random.key(0))
    assert bad.p_value < 1e-6 and bad.statistic > 0.2
    # the SGD heuristic stops at the boundary: chord positions pile up at 0 and 1
    assert np.mean((u_sgd < 0.05) | (u_sgd > 0.95)) > 0.5


def test_chord_positions_under_a_normal_prior_are_uniform():
    X, y = cn.datasets.xor()
    problem = cn.Problem(cn.MLP([2, 3, 1]), X, y, cn.NormalPrior(1.5), cn.Margin(0.0))
    tree = cn.sample(problem, method="rejection", num_samples=250, rng_key=jax.random.key(3), progress_bar=False)
    result, _ = chord.chord_check(problem, flat_params(tree, problem.net)[0], jax.random.key(1))
    assert result.p_value > 0.01


def test_orbit_passes_exact_and_fails_one_orbit(xor_problem, exact):
    params, _ = exact
    good, index = orbit.orbit_check(xor_problem, params)
    assert good.p_value > 0.01 and index.max() < 48
    canon, _ = jax.vmap(lambda p: symmetry.canonicalize(p, xor_problem.net))({k: jnp.asarray(v) for k, v in params.items()})
    bad, _ = orbit.orbit_check(xor_problem, {k: np.asarray(v) for k, v in canon.items()})
    assert bad.p_value < 1e-10


def test_orbit_for_large_groups_uses_unit_marginals():
    X, y = cn.datasets.xor()
    problem = cn.Problem(cn.MLP([2, 6, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
    assert symmetry.group_size(problem.net) > 5 * 1000
    prior = {k: np.asarray(v) for k, v in cn.BoxPrior(3.0).sample(jax.random.key(1), problem.net.param_shapes, 1000).items()}
    good, index = orbit.orbit_check(problem, prior)
    assert index is None and good.p_value > 0.01 and "unit 0" in good.detail
    # one unit always first and positive: stuck in a subset of the orbit
    b0 = np.abs(prior["b0"])
    b0[:, 0] = 0.0
    stuck = dict(prior, b0=b0)
    bad, _ = orbit.orbit_check(problem, stuck)
    assert bad.p_value < 1e-10


def test_volume_agreement(xor_problem, xor_rejection):
    other = cn.sample(xor_problem, method="rejection", num_samples=300, rng_key=jax.random.key(11), progress_bar=False)
    good = volume.volume_check([xor_rejection, other])
    assert good.p_value > 0.01
    lost = other.copy()
    # a run that found only part of S: its log vol is 0.7 lower, ~10 SEs away
    lost.attrs["log_volume"] = other.attrs["log_volume"] - 0.7
    bad = volume.volume_check([xor_rejection, lost])
    assert bad.p_value < 1e-6
    single = volume.volume_check([xor_rejection])
    assert not single.applicable


def test_volume_uses_per_chain_estimates_with_ses(exact):
    params, _ = exact
    chains = {"log_volume": np.array([-5.2, -5.21, -5.18, -5.2]), "log_volume_se": np.full(4, 0.02)}
    tree = _tree_from(params, 4)
    tree["smc_stages"] = xr.Dataset({k: ("chain", v) for k, v in chains.items()})
    assert volume.volume_check([tree]).passed
    chains["log_volume"] = np.array([-5.2, -5.21, -6.0, -5.2])  # one chain lost a mode
    tree["smc_stages"] = xr.Dataset({k: ("chain", v) for k, v in chains.items()})
    assert volume.volume_check([tree]).p_value < 1e-6


def test_importance_weights(exact):
    params, (c, d) = exact
    rng = np.random.default_rng(0)
    light = _tree_from(params, c, stats={"in_set": np.ones((c, d), bool), "log_weights": rng.normal(0, 0.3, (c, d))})
    assert weights.weights_check(light).passed
    # Pareto(shape 1) weights: k = 1, infinite mean
    heavy_lw = -np.log(rng.uniform(size=(c, d)))
    heavy = _tree_from(params, c, stats={"in_set": np.ones((c, d), bool), "log_weights": heavy_lw})
    result = weights.weights_check(heavy)
    assert result.passed is False and result.statistic > 0.7
    assert not weights.weights_check(_tree_from(params, c)).applicable


def test_importance_weights_with_an_atom_at_the_top(exact):
    """SMC's last weights exp(-delta g) equal 1 for every particle already in S: a bounded
    tail (an atom at the maximum) passes instead of breaking the Pareto fit."""
    params, (c, d) = exact
    rng = np.random.default_rng(1)
    lw = -rng.exponential(2.0, (c, d)) * (rng.uniform(size=(c, d)) > 0.6)  # 60 % exactly 0
    result = weights.weights_check(_tree_from(params, c, stats={"in_set": np.ones((c, d), bool), "log_weights": lw}))
    assert result.passed and result.statistic == -np.inf
