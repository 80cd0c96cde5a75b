"""PSIS k-hat of the final importance weights: light tails pass, heavy tails fail."""

import numpy as np

from consistent_nets.diagnostics import weights
from conftest import tree_from


def test_importance_weights(exact):
    params, (c, d) = exact
    rng = np.random.default_rng(0)
    light = tree_from(params, c, stats={"in_set": np.ones((c, d), bool), "log_weights": rng.normal(0, 0.3, (c, d))})
    assert weights.weights_check(light).passed
    # Pareto(shape 1) weights: k = 1, infinite mean
    heavy_lw = -np.log(rng.uniform(size=(c, d)))
    heavy = tree_from(params, c, stats={"in_set": np.ones((c, d), bool), "log_weights": heavy_lw})
    result = weights.weights_check(heavy)
    assert result.passed is False and result.statistic > 0.7
    assert not weights.weights_check(tree_from(params, c)).applicable


def test_importance_weights_with_an_atom_at_the_top(exact):
    """SMC's last weights exp(-delta g) equal 1 for every particle already in S: a bounded
    tail (an atom at the maximum) passes instead of breaking the Pareto fit."""
    params, (c, d) = exact
    rng = np.random.default_rng(1)
    lw = -rng.exponential(2.0, (c, d)) * (rng.uniform(size=(c, d)) > 0.6)  # 60 % exactly 0
    result = weights.weights_check(tree_from(params, c, stats={"in_set": np.ones((c, d), bool), "log_weights": lw}))
    assert result.passed and result.statistic == -np.inf
