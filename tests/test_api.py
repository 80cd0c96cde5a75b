"""``cn.predict`` for a ``Problem`` and for hand-written models (NumPyro's ``Predictive``)."""

import numpy as np
import pytest

import consistent_nets as cn
from conftest import scaled_model

GRID = np.random.default_rng(0).uniform(-1.5, 1.5, size=(7, 2)).astype(np.float32)


def test_a_model_predicts_like_its_problem(xor_problem, xor_rejection):
    """The Problem's own model, run without labels, gives the Problem's outputs."""
    from_problem = cn.predict(xor_problem, xor_rejection, GRID)
    from_model = cn.predict(xor_problem.model, xor_rejection, GRID, None)
    assert from_problem.shape == (4, 500, 7, 1)
    np.testing.assert_allclose(from_model, from_problem, rtol=1e-6, atol=1e-6)
    # by hand, for one draw
    params = {k: xor_rejection.posterior[k].values[1, 3] for k in xor_problem.net.param_shapes}
    np.testing.assert_allclose(from_problem[1, 3], xor_problem.net.apply(params, GRID), rtol=1e-5, atol=1e-6)


def test_a_handwritten_model_predicts_and_fills_posterior_predictive(scaled_rejection):
    tree = scaled_rejection.isel(draw=slice(0, 50)).copy()
    f = cn.predict(scaled_model, tree, GRID, add_to_tree=True)
    assert f.shape == (4, 50, 7, 1)
    post = tree.posterior
    s, t = post["s"].values[2, 5], post["t"].values[2, 5]
    w0, b0, w1, b1 = (post[k].values[2, 5] for k in ("w0", "b0", "w1", "b1"))
    np.testing.assert_allclose(f[2, 5], t * (np.tanh(s * (GRID @ w0 + b0)) @ w1 + b1), rtol=1e-5, atol=1e-5)
    group = tree["posterior_predictive"]["fit"]
    assert group.dims[:2] == ("chain", "draw") and group.shape == (4, 50, 7, 1)
    np.testing.assert_array_equal(group.values, f)
    # every training point is on the right side with margin 0.1 at the data
    X, y = cn.datasets.xor()
    at_data = cn.predict(scaled_model, tree, X)[..., 0]
    assert np.all(at_data * y >= 0.1 - 1e-5)


def test_predict_needs_the_model_without_labels_and_its_sites(scaled_rejection, xor_rejection):
    X, y = cn.datasets.xor()
    with pytest.raises(ValueError, match="without them"):
        cn.predict(scaled_model, scaled_rejection, X, y)
    with pytest.raises(ValueError, match="lacks the sites"):
        cn.predict(scaled_model, xor_rejection, X)
    with pytest.raises(ValueError, match="X_new"):
        cn.predict(cn.Problem(cn.MLP([2, 3, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.0)), xor_rejection, X, y)
