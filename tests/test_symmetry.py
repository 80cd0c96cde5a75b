"""Hidden-unit symmetries: outputs unchanged, canonical forms, orbit indices, augmentation."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import consistent_nets as cn
from consistent_nets import symmetry


def _draw(net, seed, num=None):
    params = cn.BoxPrior(3.0).sample(jax.random.key(seed), net.param_shapes, num or 1)
    return params if num else {k: v[0] for k, v in params.items()}


@pytest.mark.parametrize("sizes,activation", [([2, 3, 1], "tanh"), ([3, 4, 2, 2], "tanh"), ([2, 3, 1], "relu")])
def test_group_action_leaves_outputs_unchanged(sizes, activation):
    net = cn.MLP(sizes, activation=activation)
    params = _draw(net, 0)
    X = jax.random.normal(jax.random.key(1), (7, sizes[0]))
    for seed in range(5):
        perms, signs = symmetry.random_element(jax.random.key(seed), net)
        if activation == "relu":
            assert all(bool(jnp.all(s == 1)) for s in signs)
        moved = symmetry.transform(params, net, perms, signs)
        np.testing.assert_allclose(net.apply(moved, X), net.apply(params, X), atol=1e-5)


def test_canonical_form_is_orbit_invariant_and_element_maps_there():
    net = cn.MLP([3, 4, 2, 2], activation="tanh")
    params = _draw(net, 2)
    canon, element = symmetry.canonicalize(params, net)
    again = symmetry.transform(params, net, *element)
    for k in params:
        np.testing.assert_allclose(again[k], canon[k], atol=1e-6)
    assert bool(jnp.all(jnp.diff(canon["b0"]) > 0)) and bool(jnp.all(canon["b0"] > 0))
    for seed in range(4):
        moved = symmetry.transform(params, net, *symmetry.random_element(jax.random.key(seed), net))
        canon2, _ = symmetry.canonicalize(moved, net)
        for k in params:
            np.testing.assert_allclose(canon2[k], canon[k], atol=1e-6)


def test_orbit_index_is_a_bijection_on_the_group():
    net = cn.MLP([2, 3, 1], activation="tanh")
    assert symmetry.group_size(net) == 48
    perms = np.array(list(itertools.permutations(range(3))) * 8)
    signs = np.repeat(np.array(list(itertools.product([1, -1], repeat=3))), 6, axis=0)
    index = symmetry.orbit_index(((perms,), (signs,)), net)
    assert sorted(index.tolist()) == list(range(48))
    assert symmetry.group_size(cn.MLP([2, 3, 1], activation="relu")) == 6
    assert symmetry.group_size(cn.MLP([2, 1])) == 1
    with pytest.raises(ValueError, match="no hidden layer"):  # empty elements: no draws to count
        symmetry.orbit_index(((), ()), cn.MLP([2, 1]))


def test_orbit_index_of_prior_draws_is_uniform():
    net = cn.MLP([2, 3, 1], activation="tanh")
    params = _draw(net, 3, num=2400)
    _, element = jax.vmap(lambda p: symmetry.canonicalize(p, net))(params)
    counts = np.bincount(symmetry.orbit_index(element, net), minlength=48)
    assert stats.chisquare(counts).pvalue > 1e-3


def test_symmetrize_keeps_functions_and_spreads_orbits(xor_problem, xor_rejection):
    net = xor_problem.net
    tree = xor_rejection
    canon = jax.vmap(lambda p: symmetry.canonicalize(p, net)[0])(
        {k: jnp.asarray(tree.posterior[k].values.reshape((-1,) + s)) for k, s in net.param_shapes.items()}
    )
    stuck = tree.copy()
    post = stuck["posterior"].to_dataset()
    for k, v in canon.items():
        post[k] = (post[k].dims, np.asarray(v).reshape(post[k].shape))
    stuck["posterior"] = post
    spread = cn.symmetrize(stuck, xor_problem, jax.random.key(4))
    X = np.asarray(xor_problem.X)
    np.testing.assert_allclose(cn.predict(xor_problem, spread, X), cn.predict(xor_problem, stuck, X), atol=1e-5)
    flat = {k: jnp.asarray(spread.posterior[k].values.reshape((-1,) + s)) for k, s in net.param_shapes.items()}
    _, element = jax.vmap(lambda p: symmetry.canonicalize(p, net))(flat)
    assert stats.chisquare(np.bincount(symmetry.orbit_index(element, net), minlength=48)).pvalue > 1e-3
    same = cn.symmetrize(stuck, xor_problem, jax.random.key(4))
    np.testing.assert_array_equal(same.posterior["w0"].values, spread.posterior["w0"].values)


def test_bad_inputs_raise_value_error(xor_problem, xor_rejection):
    with pytest.raises(ValueError, match="net"):
        symmetry.group_size("mlp")
    with pytest.raises(ValueError, match="problem"):
        cn.symmetrize(xor_rejection, "problem", jax.random.key(0))
    with pytest.raises(ValueError, match="rng_key"):
        cn.symmetrize(xor_rejection, xor_problem, None)
    with pytest.raises(ValueError, match="perms"):
        symmetry.transform(_draw(xor_problem.net, 0), xor_problem.net, (), ())
