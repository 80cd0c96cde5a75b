"""``Target``: NumPyro's densities for any model (Jacobians and scales included), exact
against rejection on a model with constrained-support priors; ``Target.jit``: problems
that differ only in their data share one compiled program, and sharing never leaks one
problem's data into another's results."""

from collections import OrderedDict

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from numpyro import handlers
from scipy import stats

import consistent_nets as cn
from conftest import scaled_model
from consistent_nets import _reuse as cn_reuse
from consistent_nets.diagnostics.calibrate import teacher_problem
from consistent_nets.diagnostics.two_sample import energy_test
from consistent_nets.extend import make_target

NET = cn.MLP([2, 3, 1])


def _teacher(seed):
    problem, _, _ = teacher_problem(NET, cn.BoxPrior(3.0), cn.Margin(0.0), 4, jax.random.key(seed))
    return problem


def test_priors_and_constraints_compare_by_value():
    assert cn.BoxPrior(3.0) == cn.BoxPrior(3) and hash(cn.BoxPrior(3.0)) == hash(cn.BoxPrior(3))
    assert cn.BoxPrior(3.0) != cn.BoxPrior(2.0)
    assert cn.BoxPrior(1.0) != cn.NormalPrior(1.0)
    assert cn.Margin(0.0) == cn.Margin(0) and cn.Margin(0.0) != cn.Margin(0.1)
    assert cn.Tube(0.1) == cn.Tube(0.1) and cn.Tube(0.1) != cn.Margin(0.1)


def test_cache_key_ignores_data_values_but_not_shapes():
    a, b = _teacher(0), _teacher(1)
    assert not np.array_equal(np.asarray(a.X), np.asarray(b.X))
    assert make_target(a).cache_key == make_target(b).cache_key
    X, y = cn.datasets.xor()
    wider = cn.Problem(NET, np.concatenate([X, X + 5.0]), np.concatenate([y, y]), cn.BoxPrior(3.0), cn.Margin(0.0))
    assert make_target(wider).cache_key != make_target(a).cache_key
    other_prior = cn.Problem(NET, a.X, a.y, cn.BoxPrior(2.0), cn.Margin(0.0))
    assert make_target(other_prior).cache_key != make_target(a).cache_key


def test_handwritten_models_are_not_shared():
    X, y = cn.datasets.xor()
    problem = cn.Problem(NET, X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
    assert make_target(problem.model, problem.X, problem.y).cache_key is None


def test_a_model_key_is_its_function_and_argument_values():
    X, y = cn.datasets.xor()
    key = make_target(scaled_model, X, y).constants_key
    assert key is not None and key == make_target(scaled_model, np.array(X), jnp.asarray(y)).constants_key
    flipped = make_target(scaled_model, X, -np.asarray(y)).constants_key
    assert flipped is not None and flipped != key
    assert make_target(scaled_model, X, y.astype(np.float64)).constants_key != key  # dtype counts
    assert make_target(lambda X, y=None: scaled_model(X, y), X, y).constants_key != key  # another function
    assert make_target(scaled_model, X, y=y).constants_key != key  # a keyword is another call
    assert make_target(cn.Problem(NET, X, y, cn.BoxPrior(3.0), cn.Margin(0.0))).constants_key is None


def test_a_model_reuses_its_programs_only_on_equal_arguments(monkeypatch):
    """The same model on equal arguments compiles nothing new and gives the tree a fresh
    compile gives; other labels are not served the first labels' programs."""
    X, y = cn.datasets.xor()
    kwargs = dict(num_samples=64, num_chains=2, rng_key=jax.random.key(5), progress_bar=False)
    monkeypatch.setattr(cn_reuse, "_SHARED", OrderedDict())
    first = cn.sample(scaled_model, X, y, **kwargs)
    size = len(cn_reuse._SHARED)
    assert size > 0
    again = cn.sample(scaled_model, np.array(X), np.array(y), **kwargs)
    assert len(cn_reuse._SHARED) == size  # nothing new compiled
    assert again.identical(first)
    y_other = np.array(y).copy()
    y_other[[0, 1]] = y_other[[1, 0]]  # another labelling of XOR's points: another S
    other = cn.sample(scaled_model, X, y_other, **kwargs)
    assert len(cn_reuse._SHARED) > size
    monkeypatch.setattr(cn_reuse, "_SHARED", OrderedDict())
    fresh = cn.sample(scaled_model, X, y_other, **kwargs)
    assert other.identical(fresh)
    assert not other["posterior"].identical(first["posterior"])


def test_a_model_diagnosed_again_traces_nothing(scaled_sgd):
    """cn.diagnose of a hand-written model's tree a second time (the same model, data and
    key) traces no program: every one it compiled the first time is reused."""
    X, y = cn.datasets.xor()
    traced = []

    def on_duration(event, duration, **_):
        if event == "/jax/core/compile/jaxpr_trace_duration":
            traced.append(duration)

    first = cn.diagnose(scaled_sgd, scaled_model, X, y, rng_key=jax.random.key(2))
    jax.monitoring.register_event_duration_secs_listener(on_duration)
    try:
        again = cn.diagnose(scaled_sgd, scaled_model, X, y, rng_key=jax.random.key(2))
    finally:
        jax.monitoring.unregister_event_duration_listener(on_duration)
    assert traced == []
    assert again.passed == first.passed and again.distance == first.distance


@pytest.mark.parametrize("method", ["smc", "rejection", "sgd"])
def test_shared_program_gives_what_a_fresh_compile_gives(method, monkeypatch):
    """Sample teacher B after teacher A (B reuses A's program), then B alone with an
    empty cache (B compiles its own): the trees must be identical, and differ from A's."""
    kwargs = dict(method=method, num_samples=64, num_chains=2, rng_key=jax.random.key(3), progress_bar=False)
    a, b = _teacher(0), _teacher(1)
    monkeypatch.setattr(cn_reuse, "_SHARED", OrderedDict())
    tree_a = cn.sample(a, **kwargs)
    size = len(cn_reuse._SHARED)
    tree_b_shared = cn.sample(b, **kwargs)
    assert len(cn_reuse._SHARED) == size  # B compiled nothing new
    monkeypatch.setattr(cn_reuse, "_SHARED", OrderedDict())
    tree_b_fresh = cn.sample(b, **kwargs)
    assert tree_b_shared.identical(tree_b_fresh)
    assert not tree_a["posterior"].identical(tree_b_shared["posterior"])


def _zoo(X, y):
    """Supports of every kind, plate, expand, to_event, a scaled site and a deterministic site."""
    a = numpyro.sample("a", dist.Beta(2.0, 3.0))
    g = numpyro.sample("g", dist.Gamma(2.0, 1.5).expand([3]).to_event(1))
    with numpyro.plate("units", 3):
        w = numpyro.sample("w", dist.Normal(0.0, 1.0).expand([2]).to_event(1))
    h = numpyro.sample("h", dist.HalfNormal(2.0))
    with handlers.scale(scale=0.5):
        s = numpyro.sample("s", dist.LogNormal(0.0, 1.0))
    hidden = numpyro.deterministic("hidden", jnp.tanh(a * X @ w.T))
    outputs = hidden @ (g * jnp.array([1.0, -1.0, 1.0]))[:, None] - h + s
    cn.consistent("fit", outputs, y, cn.Margin(0.0))


def _zoo_log_prior(z) -> float:
    """The same density by hand in the unconstrained coordinates (scipy, float64)."""
    z = {k: np.asarray(v, dtype=np.float64) for k, v in z.items()}
    sig = 1.0 / (1.0 + np.exp(-z["a"]))
    total = stats.beta(2, 3).logpdf(sig) + np.log(sig * (1 - sig))  # logit: da/du = a (1 - a)
    total += np.sum(stats.gamma(2, scale=1 / 1.5).logpdf(np.exp(z["g"])) + z["g"])  # exp: dg/du = g
    total += np.sum(stats.norm.logpdf(z["w"]))
    total += stats.halfnorm(scale=2).logpdf(np.exp(z["h"])) + z["h"]
    total += 0.5 * (stats.lognorm(1.0).logpdf(np.exp(z["s"])) + z["s"])  # the scale covers its Jacobian too
    return float(total)


def test_densities_are_numpyros_with_jacobians_and_scales():
    X, y = cn.datasets.xor()
    target = make_target(_zoo, X, y)
    assert target.site_shapes == {"a": (), "g": (3,), "w": (3, 2), "h": (), "s": ()}
    assert target.dim == 1 + 3 + 6 + 1 + 1
    for seed in range(3):
        u = 1.5 * jax.random.normal(jax.random.key(seed), (target.dim,))
        log_prior, g, in_set = target.terms(u)
        np.testing.assert_allclose(float(log_prior), _zoo_log_prior(target.unravel(u)), rtol=2e-6, atol=1e-5)
        params = target.constrain(u)
        trace = handlers.trace(handlers.substitute(handlers.seed(_zoo, 0), params)).get_trace(X, y)
        assert float(g) == pytest.approx(-float(trace["fit"]["fn"].log_prob(trace["fit"]["value"])), rel=1e-6)
        assert bool(in_set) == bool(target.in_set(u)) == bool(trace["fit"]["infer"]["in_set"])
        for beta in (0.0, 2.5):
            assert float(target.tempered_logdensity(u, beta)) == pytest.approx(float(log_prior - beta * g), rel=1e-6)
        np.testing.assert_allclose(target.unconstrain(params), u, rtol=1e-4, atol=1e-4)
    assert np.isfinite(np.asarray(jax.grad(target.tempered_logdensity)(u, 1.0))).all()


def test_terms_do_not_trace_the_model_more_than_the_density():
    """One model evaluation serves value, penalty and membership (a forward derivative in beta)."""
    X, y = cn.datasets.xor()
    target = make_target(scaled_model, X, y)
    u = jnp.zeros(target.dim)
    calls = []
    counted = make_target(lambda *a, **k: calls.append(1) or scaled_model(*a, **k), X, y)
    calls.clear()
    jax.make_jaxpr(counted.terms)(u)
    assert len(calls) == 1


def _features(tree):
    """log s, log t and the outputs at the four points: what a wrong Jacobian would move."""
    X, _ = cn.datasets.xor()
    f = cn.predict(scaled_model, tree, X)
    n = f.shape[0] * f.shape[1]
    post = tree.posterior
    scales = [np.log(post[k].values.reshape(n, 1)) for k in ("s", "t")]
    return np.concatenate([*scales, np.tanh(f.reshape(n, -1))], axis=1)


def test_constrained_priors_are_exact_against_rejection(scaled_rejection):
    """SMC on a model with a LogNormal and a HalfNormal site against exact rejection draws.

    The volume: rejection's SE is 0.03 (2000 of ~1.2e6 prior draws), SMC's 0.04-0.1 with
    target_ess 0.9 (at the default 0.5 this model's four populations give SEs of 0.1-0.2);
    the two agree within 3.5 combined SEs (two-sided 5e-4 under normal errors; the SMC SE
    has 3 degrees of freedom, so a little more in truth) and within 0.25 nats; the draws:
    energy distance within twice the rejection-vs-rejection floor, and a permutation test
    at 0.001.
    """
    X, y = cn.datasets.xor()
    smc = cn.sample(scaled_model, X, y, method=cn.SMC(target_ess=0.9), num_samples=2000,
                    rng_key=jax.random.key(1), progress_bar=False)
    other = cn.sample(scaled_model, X, y, method="rejection", num_samples=1000,
                      rng_key=jax.random.key(1), progress_bar=False)
    gap = abs(smc.attrs["log_volume"] - scaled_rejection.attrs["log_volume"])
    se = float(np.hypot(smc.attrs["log_volume_se"], scaled_rejection.attrs["log_volume_se"]))
    assert gap <= min(3.5 * se, 0.25), (gap, se)
    ref, x = _features(scaled_rejection), _features(smc)
    floor, _ = energy_test(_features(other), ref, jax.random.key(0), 1)
    distance, p_value = energy_test(x, ref, jax.random.key(0), 999)
    assert distance <= 2 * max(floor, 1e-3) and p_value > 0.001
