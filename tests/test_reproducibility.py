"""The same rng_key gives an identical DataTree for every method; another key differs."""

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest

import consistent_nets as cn

#: small configurations, so that each method runs in a few seconds
CONFIGS = {
    "rejection": dict(method="rejection", num_samples=16),
    "sgd": dict(method=cn.SGD(max_steps=300, batch_size=32), num_samples=8),
    "smc": dict(method="smc", num_samples=16),
    "anneal": dict(method="anneal", num_samples=16),
}
SLOW = {"smc", "anneal"}


def methods():
    params = []
    for name in cn.METHODS:
        if name not in CONFIGS:
            params.append(pytest.param(name, marks=pytest.mark.skip(f"no test config for {name}")))
        elif name in SLOW:
            params.append(pytest.param(name, marks=pytest.mark.slow))
        else:
            params.append(name)
    return params


def run(problem, name, seed):
    return cn.sample(problem, num_chains=2, rng_key=jax.random.key(seed), progress_bar=False,
                     **CONFIGS[name])


@pytest.mark.parametrize("name", methods())
def test_same_key_same_tree_other_key_other_draws(xor_problem, name):
    first, again, other = run(xor_problem, name, 7), run(xor_problem, name, 7), run(xor_problem, name, 8)
    assert first.identical(again)  # values, coords and attrs of every group
    for site in xor_problem.net.param_shapes:
        a, b = first.posterior[site].values, other.posterior[site].values
        assert a.shape == b.shape
        assert not np.allclose(a, b), f"{name}: keys 7 and 8 gave the same {site}"


def test_model_path_is_reproducible():
    """A NumPyro model with ``cn.consistent`` reproduces like a Problem does."""
    X, y = cn.datasets.xor()

    def model(X, y):
        w = numpyro.sample("w", dist.Uniform(-3.0, 3.0).expand([2, 3]).to_event(2))
        b = numpyro.sample("b", dist.Uniform(-3.0, 3.0).expand([3]).to_event(1))
        v = numpyro.sample("v", dist.Uniform(-3.0, 3.0).expand([3, 1]).to_event(2))
        cn.consistent("fit", jax.numpy.tanh(X @ w + b) @ v, y, cn.Margin(0.0))

    yy = np.asarray(y, np.float32)
    kwargs = dict(method="rejection", num_samples=8, num_chains=2, progress_bar=False)
    first = cn.sample(model, X, yy, rng_key=jax.random.key(1), **kwargs)
    again = cn.sample(model, X, yy, rng_key=jax.random.key(1), **kwargs)
    assert first.identical(again)
    assert set(first.posterior.data_vars) == {"w", "b", "v"}
