"""Property tests of the pure layer: penalties, membership, network symmetries."""

import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import consistent_nets as cn

SETTINGS = settings(
    max_examples=30, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
#: every new architecture costs JAX a few small compilations: fewer examples
NET_SETTINGS = settings(SETTINGS, max_examples=12)

#: float32 outputs over a wide range, including huge ones (the penalty caps its slack)
finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)
moderate32 = st.floats(-50, 50, width=32)


def outputs(n, d, elements=finite32):
    return hnp.arrays(np.float32, (n, d), elements=elements)


def check_penalty(constraint, f, y, reference_in_set, near_boundary):
    """g >= 0, finite, g == 0 iff in_set, and in_set agrees with a float64 reference
    wherever no point lies within rounding of the boundary."""
    g = float(constraint.penalty(jnp.asarray(f), y))
    in_set = bool(constraint.in_set(jnp.asarray(f), y))
    assert np.isfinite(g) and g >= 0.0
    assert (g == 0.0) == in_set
    if not near_boundary:
        assert in_set == reference_in_set


def near(a, b):
    return bool(np.any(np.abs(a - b) <= 1e-5 * (1.0 + np.abs(b))))


@SETTINGS
@given(
    data=st.data(),
    n=st.integers(1, 6),
    m=st.one_of(st.just(0.0), st.floats(0.0, 10.0)),
)
def test_binary_margin_penalty(data, n, m):
    f = data.draw(outputs(n, 1, st.one_of(finite32, moderate32)))
    labels = data.draw(hnp.arrays(np.int32, (n,), elements=st.sampled_from([-1, 1])))
    constraint = cn.Margin(m)
    y = constraint.prepare_labels(labels, 1)
    margins = labels.astype(np.float64) * f[:, 0].astype(np.float64)
    check_penalty(constraint, f, y, bool(np.all(margins >= m)), near(margins, m))


@SETTINGS
@given(data=st.data(), n=st.integers(1, 5), k=st.integers(2, 4), m=st.floats(0.0, 5.0))
def test_multiclass_margin_penalty(data, n, k, m):
    f = data.draw(outputs(n, k, moderate32))
    labels = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    constraint = cn.Margin(m)
    y = constraint.prepare_labels(labels, k)
    f64 = f.astype(np.float64)
    own = f64[np.arange(n), labels]
    others = np.where(np.eye(k, dtype=bool)[labels], -np.inf, f64).max(axis=1)
    margins = own - others
    check_penalty(constraint, f, y, bool(np.all(margins >= m)), near(margins, m))


@SETTINGS
@given(data=st.data(), n=st.integers(1, 5), d=st.integers(1, 3),
       eps=st.floats(1e-3, 10.0))
def test_tube_penalty(data, n, d, eps):
    f = data.draw(outputs(n, d, st.one_of(finite32, moderate32)))
    targets = data.draw(outputs(n, d, moderate32))
    constraint = cn.Tube(eps)
    y = constraint.prepare_labels(targets, d)
    dev = np.abs(f.astype(np.float64) - targets.astype(np.float64))
    check_penalty(constraint, f, y, bool(np.all(dev <= eps)), near(dev, eps))


def test_tiny_violations_still_count():
    """A violation whose square underflows float32 keeps g > 0 (the iff holds at the edge)."""
    constraint = cn.Margin(0.0)
    y = constraint.prepare_labels(np.array([1, -1]), 1)
    f = jnp.array([[1.0], [1e-30]], dtype=jnp.float32)
    assert not bool(constraint.in_set(f, y))
    assert float(constraint.penalty(f, y)) > 0.0


@SETTINGS
@given(
    rows=hnp.arrays(np.int8, st.tuples(st.integers(2, 8), st.just(2)), elements=st.integers(0, 1)),
    data=st.data(),
)
def test_contradictions_detected_exactly(rows, data):
    """Problem raises InfeasibleError iff two identical rows of X carry different labels."""
    labels = data.draw(hnp.arrays(np.int32, (len(rows),), elements=st.sampled_from([-1, 1])))
    X = rows.astype(np.float32)
    same = (X[:, None, :] == X[None, :, :]).all(-1)
    contradictory = bool(np.any(same & (labels[:, None] != labels[None, :])))
    net = cn.MLP([2, 2, 1])
    if contradictory:
        with pytest.raises(cn.InfeasibleError):
            cn.Problem(net, X, labels, cn.BoxPrior(1.0), cn.Margin(0.0))
    else:
        cn.Problem(net, X, labels, cn.BoxPrior(1.0), cn.Margin(0.0))


# -- network symmetries -------------------------------------------------------------------------

nets = st.builds(
    lambda sizes, act: cn.MLP(sizes, activation=act),
    st.lists(st.integers(1, 4), min_size=3, max_size=4),
    st.sampled_from(["tanh", "relu", "sigmoid", "gelu", "identity"]),
)


def prior_params(net, seed):
    """A Uniform(-2, 2) box-prior draw (numpy: no JAX work per new architecture)."""
    rng = np.random.default_rng(seed)
    return {k: rng.uniform(-2, 2, s).astype(np.float32) for k, s in net.param_shapes.items()}


def probe_inputs(net, seed):
    return np.random.default_rng(seed + 1).standard_normal((5, net.d_in)).astype(np.float32)


def assert_same_outputs(net, a, b, X):
    np.testing.assert_allclose(np.asarray(net.apply(a, X)), np.asarray(net.apply(b, X)),
                               rtol=1e-5, atol=1e-5)


@NET_SETTINGS
@given(net=nets, seed=st.integers(0, 2**30), data=st.data())
def test_mlp_outputs_invariant_under_hidden_permutation(net, seed, data):
    """Permuting a hidden layer's units (columns of w_l, entries of b_l, rows of w_{l+1})
    leaves the network function unchanged; flipping a unit's signs does too for odd
    activations."""
    params, X = prior_params(net, seed), probe_inputs(net, seed)
    layer = data.draw(st.integers(0, net.num_layers - 2))
    width = net.sizes[layer + 1]
    perm = np.asarray(data.draw(st.permutations(range(width))))
    moved = dict(params)
    moved[f"w{layer}"] = params[f"w{layer}"][:, perm]
    moved[f"b{layer}"] = params[f"b{layer}"][perm]
    moved[f"w{layer + 1}"] = params[f"w{layer + 1}"][perm, :]
    assert_same_outputs(net, params, moved, X)
    if net.activation in ("tanh", "identity"):
        flip = np.asarray(data.draw(hnp.arrays(np.int8, (width,), elements=st.sampled_from([-1, 1]))))
        flipped = dict(moved)
        flipped[f"w{layer}"] = moved[f"w{layer}"] * flip
        flipped[f"b{layer}"] = moved[f"b{layer}"] * flip
        flipped[f"w{layer + 1}"] = moved[f"w{layer + 1}"] * flip[:, None]
        assert_same_outputs(net, params, flipped, X)


def test_permutation_test_can_fail():
    """Control: permuting only the incoming weights (not the outgoing) changes outputs."""
    net = cn.MLP([2, 3, 1])
    params, X = prior_params(net, 0), probe_inputs(net, 0)
    perm = np.array([1, 2, 0])
    broken = dict(params, w0=params["w0"][:, perm], b0=params["b0"][perm])
    with pytest.raises(AssertionError):
        assert_same_outputs(net, params, broken, X)


HAVE_SYMMETRY = importlib.util.find_spec("consistent_nets.symmetry") is not None
needs_symmetry = pytest.mark.skipif(not HAVE_SYMMETRY, reason="consistent_nets.symmetry not present")


def numpy_element(net, seed):
    """A uniformly random group element built with numpy (cheap for many architectures)."""
    rng = np.random.default_rng(seed)
    widths = net.sizes[1:-1]
    odd = net.activation in ("tanh", "identity")
    perms = tuple(rng.permutation(w) for w in widths)
    signs = tuple(rng.choice([-1, 1], w) if odd else np.ones(w, np.int32) for w in widths)
    return perms, signs


def tree_equal(a, b):
    return all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)


@needs_symmetry
def test_random_element_is_a_symmetry():
    from consistent_nets import symmetry

    net = cn.MLP([2, 3, 2, 1], activation="tanh")
    params, X = prior_params(net, 0), probe_inputs(net, 0)
    for k in range(3):
        element = symmetry.random_element(jax.random.key(k), net)
        assert_same_outputs(net, params, symmetry.transform(params, net, *element), X)


@needs_symmetry
@NET_SETTINGS
@given(net=nets, seed=st.integers(0, 2**30))
def test_symmetry_maps_preserve_outputs(net, seed):
    from consistent_nets import symmetry

    params, X = prior_params(net, seed), probe_inputs(net, seed)
    element = numpy_element(net, seed + 2)
    assert_same_outputs(net, params, symmetry.transform(params, net, *element), X)
    canonical, _ = symmetry.canonicalize(params, net)
    assert_same_outputs(net, params, canonical, X)


@needs_symmetry
@NET_SETTINGS
@given(net=nets, seed=st.integers(0, 2**30))
def test_canonicalize_idempotent_and_orbit_invariant(net, seed):
    from consistent_nets import symmetry

    params = prior_params(net, seed)
    canonical, element = symmetry.canonicalize(params, net)
    # the element returned maps params to the canonical form
    assert tree_equal(symmetry.transform(params, net, *element), canonical)
    # idempotent: the canonical form is its own canonical form, reached by the identity
    again, identity = symmetry.canonicalize(canonical, net)
    assert tree_equal(again, canonical)
    for perm, sign, width in zip(*identity, symmetry.hidden_widths(net)):
        np.testing.assert_array_equal(np.asarray(perm), np.arange(width))
        np.testing.assert_array_equal(np.asarray(sign), np.ones(width))
    # orbit-invariant: every element of the orbit has the same canonical form
    for k in range(3):
        element = numpy_element(net, seed + 3 + k)
        moved = symmetry.transform(params, net, *element)
        assert tree_equal(symmetry.canonicalize(moved, net)[0], canonical)
