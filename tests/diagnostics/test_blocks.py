"""Dependence blocks: one draw per block of dependent draws, so tests see independent draws."""

import jax
import numpy as np

from conftest import tree_from
from consistent_nets.diagnostics import blocks


def test_independent_draws_are_their_own_blocks(xor_rejection):
    f = np.random.default_rng(0).normal(size=(4, 500, 3))
    ids, how = blocks.dependence_blocks(xor_rejection, f)
    assert how == "independent" and np.unique(ids).size == 2000


def test_lineage_groups_are_blocks_and_thinning_keeps_one_per_group(exact):
    params, _ = exact
    lineage = np.repeat(np.arange(100), 5).reshape(1, 500)
    tree = tree_from({k: v[:500] for k, v in params.items()}, 1, stats={"in_set": np.ones((1, 500), bool), "lineage": lineage})
    ids, how = blocks.dependence_blocks(tree, np.random.default_rng(0).normal(size=(1, 500, 2)))
    assert how == "lineage"
    keep = blocks.thin(jax.random.key(0), ids)
    assert keep.size == 100 and np.unique(ids.reshape(-1)[keep]).size == 100
    other = blocks.thin(jax.random.key(1), ids)
    assert not np.array_equal(keep, other)  # a random representative per block


def test_autocorrelated_chains_get_longer_blocks(exact):
    """A random walk is autocorrelated: far fewer blocks than draws; white noise: about one each."""
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(size=(2, 400, 3)), axis=1)
    noise = rng.normal(size=(2, 400, 3))
    params, _ = exact
    tree = tree_from({k: v[:800] for k, v in params.items()}, 2)
    walk_ids, how = blocks.dependence_blocks(tree, walk)
    noise_ids, _ = blocks.dependence_blocks(tree, noise)
    assert how == "autocorrelation"
    assert np.unique(walk_ids).size < 100 < 600 < np.unique(noise_ids).size


def test_shuffled_copies_share_a_block(xor_rejection):
    """An 'independent' sample of 100 draws each copied 5 times and shuffled: 100 blocks."""
    rng = np.random.default_rng(0)
    f = np.repeat(rng.normal(size=(100, 3)), 5, axis=0)[rng.permutation(500)].reshape(1, 500, 3)
    tree = xor_rejection.copy()
    ids, how = blocks.dependence_blocks(tree, f)
    assert np.unique(ids).size == 100 and "copies merged" in how
