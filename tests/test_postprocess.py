"""What cn.sample adds to every method: exact symmetrisation and the effective draws."""

import jax
import numpy as np
import pytest

import consistent_nets as cn
from consistent_nets.samplers.effective import effective_draws, lineage_groups


def test_symmetrized_by_default_and_exactly(xor_problem):
    """Same key: the same functions with and without symmetrisation, other weights."""
    kwargs = dict(method="rejection", num_samples=200, rng_key=jax.random.key(3), progress_bar=False)
    raw = cn.sample(xor_problem, symmetrize=False, **kwargs)
    sym = cn.sample(xor_problem, **kwargs)
    assert sym.attrs["symmetrized"] == 1 and raw.attrs["symmetrized"] == 0
    assert not np.allclose(sym.posterior["w0"].values, raw.posterior["w0"].values)
    X = np.random.default_rng(0).uniform(-2, 2, (30, 2)).astype(np.float32)
    np.testing.assert_allclose(cn.predict(xor_problem, sym, X), cn.predict(xor_problem, raw, X), atol=1e-4)


def test_symmetrize_must_be_a_bool(xor_problem):
    with pytest.raises(ValueError, match="symmetrize"):
        cn.sample(xor_problem, method="rejection", num_samples=8, rng_key=jax.random.key(0), symmetrize="yes")


def test_every_method_reports_its_effective_draws(xor_problem, xor_rejection, xor_smc):
    assert xor_rejection.attrs["ess"] == 2000 and xor_rejection.attrs["draw_structure"] == "independent"
    assert xor_smc.attrs["draw_structure"] == "lineage"
    # SMC's siblings count once: fewer effective draws than rows, still hundreds
    assert 500 < xor_smc.attrs["ess"] < 2000
    per_population = xor_smc["smc_stages"]["effective_draws"].values
    assert per_population.shape == (4,) and np.all((per_population > 50) & (per_population <= 500))
    lineage = xor_smc.sample_stats["lineage"].values
    assert lineage.shape == (4, 500) and np.unique(lineage[0]).size < 500


def test_features_in_chunks_are_the_features(xor_problem, xor_smc, monkeypatch):
    """Large samples' function-space features are computed a chunk at a time (the last
    chunk padded): the same values as all at once, in the same order."""
    from consistent_nets import _postprocess
    from consistent_nets.extend import make_target

    target = make_target(xor_problem)
    posterior = {k: xor_smc.posterior[k].values for k in target.site_shapes}
    whole = _postprocess.function_space_features(target, posterior)
    monkeypatch.setattr(_postprocess, "FEATURE_CHUNK", 300)  # 2000 draws: 6 full chunks and 200 rows
    np.testing.assert_allclose(_postprocess.function_space_features(target, posterior), whole, rtol=1e-6, atol=1e-6)
    assert whole.shape == (4, 500, 4 + 16)


def test_lineage_groups_follow_parents_back():
    parents = [np.array([[0, 0, 1, 3]]), np.array([[2, 2, 0, 1]])]  # oldest first
    np.testing.assert_array_equal(lineage_groups(parents, 1), [[2, 2, 0, 1]])
    np.testing.assert_array_equal(lineage_groups(parents, 2), [[1, 1, 0, 0]])
    np.testing.assert_array_equal(lineage_groups(parents, 99), [[1, 1, 0, 0]])


def test_copies_count_once_and_disagreeing_populations_count_less():
    """500 independent draws copied 4 times in 4 populations: worth 500, not 2000; the
    same with the populations' means shifted apart is worth less still."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(4, 125, 6))
    f = np.repeat(base, 4, axis=1)  # (4, 500, 6): each draw 4 times in a row
    groups = np.repeat(np.arange(125), 4)[None].repeat(4, axis=0)
    ess, per_chain, inflation = effective_draws(f, "lineage", groups)
    assert 350 < ess < 700 and np.all((per_chain > 80) & (per_chain < 180))
    shifted = f + np.arange(4)[:, None, None] * 0.5
    ess_shifted, _, inflation_shifted = effective_draws(shifted, "lineage", groups)
    assert inflation_shifted > 5 and ess_shifted < ess / 5
    assert effective_draws(f, "independent")[0] == 2000


def _declared_model(X, y=None, declare=True):
    """XOR's 2-3-1 tanh network with an output scale the symmetries leave alone, and its
    hidden activations recorded as a deterministic site."""
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    scale = numpyro.sample("scale", dist.Uniform(0.5, 2.0))
    w0 = numpyro.sample("w0", dist.Uniform(-3.0, 3.0).expand([2, 3]).to_event(2))
    b0 = numpyro.sample("b0", dist.Uniform(-3.0, 3.0).expand([3]).to_event(1))
    w1 = numpyro.sample("w1", dist.Uniform(-3.0, 3.0).expand([3, 1]).to_event(2))
    b1 = numpyro.sample("b1", dist.Uniform(-3.0, 3.0).expand([1]).to_event(1))
    hidden = numpyro.deterministic("hidden", jnp.tanh(X @ w0 + b0))
    net = cn.MLP([2, 3, 1]) if declare else None
    cn.consistent("fit", scale * (hidden @ w1 + b1), y, cn.Margin(0.0), net=net)


def test_a_model_that_declares_its_network_is_symmetrized_on_those_sites():
    """Same key: the same functions and the same undeclared site, other weights."""
    X, y = cn.datasets.xor()
    kwargs = dict(method="rejection", num_samples=200, rng_key=jax.random.key(3), progress_bar=False)
    raw = cn.sample(_declared_model, X, y, symmetrize=False, **kwargs)
    sym = cn.sample(_declared_model, X, y, **kwargs)
    assert sym.attrs["symmetrized"] == 1 and raw.attrs["symmetrized"] == 0
    assert not np.allclose(sym.posterior["w0"].values, raw.posterior["w0"].values)
    np.testing.assert_array_equal(sym.posterior["scale"].values, raw.posterior["scale"].values)
    grid = np.random.default_rng(0).uniform(-2, 2, (30, 2)).astype(np.float32)
    np.testing.assert_allclose(cn.predict(_declared_model, sym, grid), cn.predict(_declared_model, raw, grid),
                               atol=1e-4)
    undeclared = cn.sample(_declared_model, X, y, declare=False, **kwargs)
    assert undeclared.attrs["symmetrized"] == 0


def test_deterministic_sites_are_in_the_posterior_at_every_draw():
    """NumPyro's MCMC returns deterministic sites with the draws; so does cn.sample, at the
    returned (symmetrized) draws."""
    X, y = cn.datasets.xor()
    tree = cn.sample(_declared_model, X, y, method="rejection", num_samples=200, rng_key=jax.random.key(4),
                     progress_bar=False)
    post = tree.posterior
    assert post["hidden"].shape == (4, 50, 4, 3)
    expect = np.tanh(np.einsum("nd,cgdh->cgnh", np.asarray(X), post["w0"].values) + post["b0"].values[:, :, None])
    np.testing.assert_allclose(post["hidden"].values, expect, atol=1e-5)
    assert cn.predict(_declared_model, tree, X).shape == (4, 50, 4, 1)  # the extra variable is no site to it


def _misdeclared(X, y=None, first_prior=None, outputs_extra=0.0):
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    w0 = numpyro.sample("w0", (first_prior or dist.Uniform(-3.0, 3.0)).expand([2, 3]).to_event(2))
    b0 = numpyro.sample("b0", dist.Uniform(-3.0, 3.0).expand([3]).to_event(1))
    w1 = numpyro.sample("w1", dist.Uniform(-3.0, 3.0).expand([3, 1]).to_event(2))
    b1 = numpyro.sample("b1", dist.Uniform(-3.0, 3.0).expand([1]).to_event(1))
    hidden = jnp.tanh(X @ w0 + b0)
    cn.consistent("fit", hidden @ w1 + b1 + outputs_extra * hidden[:, :1], y, cn.Margin(0.0), net=cn.MLP([2, 3, 1]))


@pytest.mark.parametrize("case, kwargs, what", [
    ("prior not symmetric about 0", dict(first_prior="normal"), "log prior"),
    ("prior on one side of 0", dict(first_prior="positive"), "log prior"),
    ("outputs that single out a unit", dict(outputs_extra=0.5), "outputs"),
])
def test_a_wrong_net_declaration_is_refused_before_sampling(case, kwargs, what):
    """Symmetrizing on a declaration the model does not honour would bias the draws."""
    import numpyro.distributions as dist

    priors = {"normal": dist.Normal(1.0, 1.0), "positive": dist.Uniform(0.0, 3.0)}
    if "first_prior" in kwargs:
        kwargs = {"first_prior": priors[kwargs["first_prior"]]}
    X, y = cn.datasets.xor()
    with pytest.raises(ValueError, match=rf"net=.* declared, but the model's {what} change"):
        cn.sample(_misdeclared, X, y, method="rejection", num_samples=40, rng_key=jax.random.key(0),
                  progress_bar=False, **kwargs)
    cn.sample(_misdeclared, X, y, method="rejection", num_samples=40, rng_key=jax.random.key(0), progress_bar=False)
