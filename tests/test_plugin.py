"""The NumPyro plugin: ``cn.consistent`` tags a factor site, ``cn.temper`` scales only those."""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from numpyro import handlers
from numpyro.infer.util import log_density

import consistent_nets as cn



def _prior_log_density(prior, params):
    """The prior's log density, straight from its distributions (independent of the model)."""
    return sum(prior.distribution(v.shape).log_prob(v) for v in params.values())

def _params(problem, seed=0):
    return problem.prior.sample(jax.random.key(seed), problem.net.param_shapes, 1) | {}


def _first(draws):
    return {k: v[0] for k, v in draws.items()}


@pytest.fixture(scope="module")
def params_outside(xor_problem):
    """A prior draw that is not in S (so g > 0 and scaling is visible)."""
    for seed in range(100):
        params = _first(_params(xor_problem, seed))
        out = xor_problem.net.apply(params, xor_problem.X)
        if not bool(xor_problem.constraint.in_set(out, xor_problem.y)):
            return params
    raise AssertionError("no prior draw outside S")


def test_temper_zero_is_the_prior_exactly(xor_problem, params_outside):
    lp, _ = log_density(cn.temper(xor_problem.model, 0.0), xor_problem.model_args, {}, params_outside)
    assert float(lp) == float(_prior_log_density(xor_problem.prior, params_outside))
    assert np.isfinite(float(lp))


@pytest.mark.parametrize("beta", [0.5, 3.0, 1e6])
def test_temper_scales_only_the_constraint(xor_problem, params_outside, beta):
    out = xor_problem.net.apply(params_outside, xor_problem.X)
    g = float(xor_problem.constraint.penalty(out, xor_problem.y))
    assert g > 0
    lp, _ = log_density(cn.temper(xor_problem.model, beta), xor_problem.model_args, {}, params_outside)
    expected = float(_prior_log_density(xor_problem.prior, params_outside)) - beta * g
    np.testing.assert_allclose(float(lp), expected, rtol=1e-5)


def _handwritten(X, y, noise_obs=None):
    """Its own prior, a consistency site, and an ordinary likelihood site temper must leave alone."""
    w = numpyro.sample("w", dist.Normal(0, 1).expand([2, 1]).to_event(2))
    s = numpyro.sample("s", dist.HalfNormal(1.0))
    cn.consistent("fit", X @ w, y, cn.Margin(0.0))
    numpyro.sample("noise", dist.Normal(0, s), obs=noise_obs)


def test_temper_on_a_handwritten_model():
    X, y = cn.datasets.xor()
    X, y = jnp.asarray(X), jnp.asarray(y, jnp.float32)
    params = {"w": jnp.array([[1.0], [-0.5]]), "s": jnp.asarray(0.7)}
    args, kwargs = (X, y), {"noise_obs": jnp.asarray(0.3)}
    base = float(dist.Normal(0, 1).log_prob(params["w"]).sum() + dist.HalfNormal(1.0).log_prob(params["s"]))
    base += float(dist.Normal(0, params["s"]).log_prob(0.3))
    g = float(cn.Margin(0.0).penalty(X @ params["w"], y))
    assert g > 0
    for beta in (0.0, 2.0, 50.0):
        lp, trace = log_density(cn.temper(_handwritten, beta), args, kwargs, params)
        np.testing.assert_allclose(float(lp), base - beta * g, rtol=1e-6)
    assert trace["fit"]["infer"]["consistent"] and not trace["noise"]["infer"].get("consistent", False)


def test_temper_traced_beta_and_composition(xor_problem, params_outside):
    """beta may be traced (one compile for a whole schedule) and temper composes with NumPyro handlers."""

    @jax.jit
    def tempered(beta):
        model = handlers.scale(cn.temper(xor_problem.model, beta), 2.0)
        return log_density(model, xor_problem.model_args, {}, params_outside)[0]

    out = xor_problem.net.apply(params_outside, xor_problem.X)
    g = float(xor_problem.constraint.penalty(out, xor_problem.y))
    prior = float(_prior_log_density(xor_problem.prior, params_outside))
    for beta in (0.0, 1.0, 10.0):
        np.testing.assert_allclose(float(tempered(beta)), 2.0 * (prior - beta * g), rtol=1e-5)
    assert not np.isnan(float(tempered(0.0)))


def test_consistent_site_is_tagged_and_checks_membership(xor_problem):
    tr = handlers.trace(handlers.seed(xor_problem.model, 0)).get_trace(*xor_problem.model_args)
    site = tr["data"]
    assert site["infer"]["consistent"] is True
    assert site["is_observed"]
    params = {k: tr[k]["value"] for k in xor_problem.net.param_shapes}
    out = xor_problem.net.apply(params, xor_problem.X)
    assert bool(site["infer"]["in_set"]) == bool(xor_problem.constraint.in_set(out, xor_problem.y))


@pytest.mark.parametrize("beta", [-1.0, float("nan"), float("inf"), [1.0, 2.0]])
def test_temper_rejects_bad_beta(beta):
    with pytest.raises(ValueError, match="beta"):
        cn.temper(lambda: None, beta)


def test_consistent_rejects_non_constraint():
    with pytest.raises(ValueError, match="constraint"):
        with handlers.seed(rng_seed=0):
            cn.consistent("x", jnp.zeros((2, 1)), jnp.ones(2), "margin")


def test_consistent_records_outputs_slack_and_labels():
    X, y = cn.datasets.xor()
    outputs = jnp.asarray(X[:, :1] * 2.0)
    with handlers.trace() as tr, handlers.seed(rng_seed=0):
        cn.consistent("fit", outputs, y, cn.Margin(0.5))
    infer = tr["fit"]["infer"]
    np.testing.assert_array_equal(infer["outputs"], outputs)
    np.testing.assert_allclose(infer["slack"], 0.5 - y * outputs[:, 0])
    assert bool(infer["in_set"]) == bool(np.all(infer["slack"] <= 0))
    assert infer["constraint"] == cn.Margin(0.5) and "symmetry" not in infer


def test_without_labels_consistent_records_the_outputs_only():
    """y=None, the NumPyro idiom for prediction: a tagged deterministic site, no factor."""
    X, _ = cn.datasets.xor()
    net = cn.MLP([2, 1])
    with handlers.trace() as tr, handlers.seed(rng_seed=0):
        cn.consistent("fit", jnp.asarray(X[:, :1]), None, cn.Margin(0.0), net=net)
    site = tr["fit"]
    assert site["type"] == "deterministic" and site["infer"]["consistent"]
    assert site["infer"]["symmetry"] == (net, (("w0", "w0"), ("b0", "b0")))
    lp, _ = log_density(lambda: cn.consistent("fit", jnp.ones((4, 1)), None, cn.Margin(0.0)), (), {}, {})
    assert float(lp) == 0.0
