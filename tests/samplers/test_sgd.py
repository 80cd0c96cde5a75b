"""The SGD heuristic: trained draws fit the data and stay in the prior's support."""

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest

import consistent_nets as cn
from consistent_nets.extend import make_target
from consistent_nets.samplers.sgd import _projection

FAST = cn.SGD(max_steps=300, batch_size=64)


def test_trained_draws_fit_and_stay_in_the_box(xor_problem):
    tree = cn.sample(xor_problem, method=FAST, num_samples=64, rng_key=jax.random.key(0), progress_bar=False)
    f = cn.predict(xor_problem, tree, xor_problem.X)[..., 0]
    assert np.all(f * np.asarray(xor_problem.y) >= 0)
    for site in xor_problem.net.param_shapes:
        assert np.all(np.abs(tree.posterior[site].values) <= 3.0)
    steps = tree.sample_stats["train_steps"].values
    assert np.all((steps >= 0) & (steps <= 300))
    # every run's Adam steps count, successful or not
    assert tree.attrs["num_grad_evals"] >= steps.sum()
    assert 0 < tree.attrs["success_rate"] <= 1
    assert np.isnan(tree.attrs["log_volume"]) and "no estimate" in tree.attrs["log_volume_note"]


def test_projection_reads_public_supports():
    """Box sites are clipped to the box, half-lines at their bound, real sites untouched."""

    def model(X, y):
        a = numpyro.sample("a", dist.Uniform(-2.0, 2.0).expand([3]).to_event(1))
        b = numpyro.sample("b", dist.HalfNormal(1.0).expand([3]).to_event(1))
        c = numpyro.sample("c", dist.Normal(0.0, 1.0).expand([3]).to_event(1))
        cn.consistent("fit", (X @ a[:2] + b[0] + c[0])[:, None], y, cn.Margin(0.0))

    X, y = cn.datasets.xor()
    project = _projection(make_target(model, X, np.asarray(y, np.float32)))
    out = project({k: jax.numpy.array([-5.0, 0.5, 5.0]) for k in "abc"})
    np.testing.assert_allclose(out["a"], [-2.0, 0.5, 2.0])
    np.testing.assert_allclose(out["b"], [0.0, 0.5, 5.0])
    np.testing.assert_allclose(out["c"], [-5.0, 0.5, 5.0])


def test_rejects_supports_it_cannot_project():
    def model(X, y):
        p = numpyro.sample("p", dist.Dirichlet(np.ones(3, np.float32)))
        cn.consistent("fit", (X @ p[:2])[:, None], y, cn.Margin(0.0))

    X, y = cn.datasets.xor()
    with pytest.raises(ValueError, match="site 'p'"):
        _projection(make_target(model, X, np.asarray(y, np.float32)))
