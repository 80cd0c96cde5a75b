"""Mode weights: chains with the same cluster proportions pass, a chain missing a region fails."""

import jax
import numpy as np

import consistent_nets as cn
from consistent_nets.diagnostics import populations
from consistent_nets.diagnostics.draws import flat_params
from conftest import net_outputs, probe_outputs


def _features(problem, params):
    return probe_outputs(problem, params)


def test_exact_chains_pass(xor_problem, exact):
    params, (c, d) = exact
    f = _features(xor_problem, params)
    check = populations.populations_check(f, np.repeat(np.arange(c), d), seed=0)
    assert check.passed and check.p_value > 0.01, check


def test_a_chain_that_misses_a_region_fails(xor_problem, exact):
    """Chain 0 keeps only draws with a positive output at one probe (about half of S)."""
    params, (c, d) = exact
    f = _features(xor_problem, params)
    chain = np.repeat(np.arange(c), d)
    probe = f[:, 10]
    keep = (chain != 0) | (probe > np.median(probe))
    check = populations.populations_check(f[keep], chain[keep], seed=0)
    assert check.p_value < 1e-6, check


def test_a_region_told_apart_off_the_data_fails_by_the_marginals(xor_problem, exact):
    """Chain 0 keeps only draws with a positive output at an input that is no probe: the
    cluster proportions alone do not reach the level (p 0.014), the per-probe KS does."""
    params, (c, d) = exact
    f = _features(xor_problem, params)
    chain = np.repeat(np.arange(c), d)
    elsewhere = net_outputs(xor_problem, params, np.array([[1.5, 0.2]], np.float32))[:, 0]
    keep = (chain != 0) | (elsewhere > np.median(elsewhere))
    f, chain, probes = f[keep], chain[keep], f[keep][:, xor_problem.num_data:]
    clusters_only = populations.populations_check(f, chain, seed=0, marginals=np.zeros((len(f), 1)))
    assert clusters_only.p_value > 0.01, clusters_only
    check = populations.populations_check(f, chain, seed=0, marginals=probes)
    assert check.p_value < 1e-4 and "chain 0" in check.detail, check


def test_annealed_chains_stuck_in_modes_fail(xor_problem):
    """anneal's chains stay where they started: their proportions differ (XOR, 8 chains)."""
    tree = cn.sample(xor_problem, method=cn.Anneal(num_stages=6, num_warmup=30, num_steps=100), num_samples=800,
                     num_chains=8, rng_key=jax.random.key(0), progress_bar=False)
    params, (c, d) = flat_params(tree, xor_problem.net)
    f = _features(xor_problem, params)
    check = populations.populations_check(f, np.repeat(np.arange(c), d), seed=0)
    assert check.p_value < 1e-3, check


def test_one_chain_is_not_applicable(xor_problem, exact):
    params, _ = exact
    f = _features(xor_problem, params)
    check = populations.populations_check(f, np.zeros(len(f), int), seed=0)
    assert check.passed is None and "one chain" in check.detail
