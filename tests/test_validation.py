"""Bad input raises ``ValueError`` naming the argument, before anything is compiled."""

import re
from collections import OrderedDict

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import consistent_nets as cn
from consistent_nets import _reuse as cn_reuse
from consistent_nets.cli._specs import parse_constraint, parse_prior

X_XOR, Y_XOR = cn.datasets.xor()
NET = cn.MLP([2, 3, 1])
NET3 = cn.MLP([2, 3, 3])
BOX = cn.BoxPrior(3.0)
MARGIN = cn.Margin(0.0)


class Compiled(AssertionError):
    """Raised by the patched ``jax.jit`` / ``jax.vmap``: something got to compilation."""


@pytest.fixture
def no_compile(monkeypatch):
    def refuse(*args, **kwargs):
        raise Compiled("jax.jit / jax.vmap reached before validation finished")

    monkeypatch.setattr(jax, "jit", refuse)
    monkeypatch.setattr(jax, "vmap", refuse)
    # programs compiled by earlier tests for the same problem shapes are shared
    # (Target.jit); start from an empty cache so reaching compilation is seen
    monkeypatch.setattr(cn_reuse, "_SHARED", OrderedDict())


def raises_naming(name: str):
    """``pytest.raises(ValueError)`` whose message starts with ``name`` (or quotes it)."""
    pattern = rf"^{re.escape(name)}\b|`{re.escape(name)}`"
    return pytest.raises(ValueError, match=pattern)


def problem(X=X_XOR, y=Y_XOR, net=NET, prior=BOX, constraint=MARGIN):
    return cn.Problem(net, X, y, prior, constraint)


def with_nan(a, value=np.nan):
    a = np.array(a, dtype=np.float32)
    a.flat[1] = value
    return a


PROBLEM_CASES = {
    "X/y length mismatch": ("y", lambda: problem(y=Y_XOR[:3])),
    "y scalar": ("y", lambda: problem(y=1)),
    "NaN in X": ("X", lambda: problem(X=with_nan(X_XOR))),
    "inf in X": ("X", lambda: problem(X=with_nan(X_XOR, -np.inf))),
    "X beyond float32": ("X", lambda: problem(X=np.where(X_XOR > 0, 1e300, -1.0))),
    "X one-dimensional": ("X", lambda: problem(X=X_XOR[:, 0])),
    "X empty": ("X", lambda: problem(X=np.zeros((0, 2)), y=np.zeros(0))),
    "X strings": ("X", lambda: problem(X=np.array([["a", "b"]] * 4))),
    "X ragged": ("X", lambda: problem(X=[[0.0, 1.0], [1.0]])),
    "d_in mismatch": ("X", lambda: problem(X=np.ones((4, 3), np.float32))),
    "NaN in y": ("y", lambda: problem(y=with_nan(Y_XOR))),
    "inf in y (Tube)": (
        "y", lambda: problem(y=with_nan(Y_XOR, np.inf), constraint=cn.Tube(0.1))
    ),
    "label 2 for binary": ("y", lambda: problem(y=np.array([-1, 1, 2, 1]))),
    "label 0.5 for binary": ("y", lambda: problem(y=np.array([0.5, 1, 1, -1]))),
    "mixed {0,-1,1} binary": ("y", lambda: problem(y=np.array([0, 1, -1, 1]))),
    "string labels": ("y", lambda: problem(y=np.array(["a", "b", "a", "b"]))),
    "2-D y for Margin": ("y", lambda: problem(y=Y_XOR[:, None])),
    "float label multiclass": ("y", lambda: problem(net=NET3, y=np.array([0.0, 1.0, 2.0, 1.0]))),
    "class 3 of 3": ("y", lambda: problem(net=NET3, y=np.array([0, 1, 3, 1]))),
    "negative class": ("y", lambda: problem(net=NET3, y=np.array([0, -1, 2, 1]))),
    "Tube y wrong width": (
        "y", lambda: problem(y=np.zeros((4, 2)), constraint=cn.Tube(0.1))
    ),
    "net not an MLP": ("net", lambda: problem(net="mlp")),
    "prior a string": ("prior", lambda: problem(prior="box:3")),
    "constraint None": ("constraint", lambda: problem(constraint=None)),
}

CONSTRUCTOR_CASES = {
    "Tube(0)": ("eps", lambda: cn.Tube(0.0)),
    "Tube(-1)": ("eps", lambda: cn.Tube(-1)),
    "Tube(nan)": ("eps", lambda: cn.Tube(float("nan"))),
    "Tube(True)": ("eps", lambda: cn.Tube(True)),
    "Tube('0.1')": ("eps", lambda: cn.Tube("0.1")),
    "Margin(-0.1)": ("m", lambda: cn.Margin(-0.1)),
    "Margin(inf)": ("m", lambda: cn.Margin(float("inf"))),
    "BoxPrior(0)": ("a", lambda: cn.BoxPrior(0)),
    "BoxPrior(-3)": ("a", lambda: cn.BoxPrior(-3.0)),
    "NormalPrior(0)": ("s", lambda: cn.NormalPrior(0.0)),
    "NormalPrior(nan)": ("s", lambda: cn.NormalPrior(np.float32("nan"))),
    "unknown activation": ("activation", lambda: cn.MLP([2, 3, 1], activation="swish")),
    "activation not a string": ("activation", lambda: cn.MLP([2, 3, 1], activation=np.tanh)),
    "sizes too short": ("sizes", lambda: cn.MLP([2])),
    "sizes zero width": ("sizes", lambda: cn.MLP([2, 0, 1])),
    "sizes float": ("sizes", lambda: cn.MLP([2, 1.5])),
    "sizes not a sequence": ("sizes", lambda: cn.MLP(3)),
    "unknown prior spec": ("prior", lambda: parse_prior("uniform:3")),
    "bad prior value": ("prior", lambda: parse_prior("box:-1")),
    "unknown constraint spec": ("constraint", lambda: parse_constraint("hinge:0")),
    "bad constraint value": ("constraint", lambda: parse_constraint("tube:0")),
    "negative beta": ("beta", lambda: cn.temper(None, -1.0)),
    "consistent without a constraint": (
        "constraint", lambda: cn.consistent("fit", jnp.zeros((4, 1)), Y_XOR, None)
    ),
}


@pytest.mark.parametrize("case", list(PROBLEM_CASES) + list(CONSTRUCTOR_CASES))
def test_bad_input_names_the_argument(case, no_compile):
    name, build = {**PROBLEM_CASES, **CONSTRUCTOR_CASES}[case]
    with raises_naming(name):
        build()


def test_numpy_scalars_are_accepted():
    assert cn.Tube(np.float32(0.25)).eps == 0.25
    assert cn.Margin(np.float64(0.5)).m == 0.5
    assert cn.BoxPrior(np.int64(2)).a == 2.0
    assert cn.MLP(np.array([2, 4, 1])).sizes == (2, 4, 1)
    # {0, 1} labels map to ±1; integer-valued floats are fine for binary
    p = problem(y=np.array([0, 1, 1, 0]))
    np.testing.assert_array_equal(np.asarray(p.y), Y_XOR)
    problem(y=Y_XOR.astype(np.float64))


@pytest.fixture(scope="module")
def xor_problem_small():
    return problem()


SAMPLE_CASES = {
    "unknown method": ("method", dict(method="nuts")),
    "method a class": ("method", dict(method=cn.Rejection)),
    "num_samples 0": ("num_samples", dict(num_samples=0)),
    "num_samples negative": ("num_samples", dict(num_samples=-5)),
    "num_samples float": ("num_samples", dict(num_samples=10.0)),
    "num_samples bool": ("num_samples", dict(num_samples=True)),
    "num_samples < num_chains": ("num_samples", dict(num_samples=3, num_chains=4)),
    "num_samples not split evenly": ("num_samples", dict(num_samples=201, num_chains=4)),
    "num_chains 0": ("num_chains", dict(num_chains=0)),
    "num_chains float": ("num_chains", dict(num_chains=2.0)),
    "num_chains None": ("num_chains", dict(num_chains=None)),
    "rng_key missing": ("rng_key", dict(rng_key=None)),
    "rng_key int": ("rng_key", dict(rng_key=0)),
    "rng_key string": ("rng_key", dict(rng_key="seed")),
    "rng_key batch": ("rng_key", dict(rng_key=jax.random.split(jax.random.key(0), 2))),
    "rng_key float pair": ("rng_key", dict(rng_key=np.array([0.0, 1.0]))),
    "Rejection max_draws 0": ("max_draws", dict(method=cn.Rejection(max_draws=0))),
    "Rejection max_seconds < 0": ("max_seconds", dict(method=cn.Rejection(max_seconds=-1.0))),
    "Rejection chunk_size 0": ("chunk_size", dict(method=cn.Rejection(chunk_size=0))),
    "SGD learning_rate 0": ("learning_rate", dict(method=cn.SGD(learning_rate=0.0))),
    "SGD max_steps float": ("max_steps", dict(method=cn.SGD(max_steps=10.5))),
    "SGD max_inits 0": ("max_inits", dict(method=cn.SGD(max_inits=0))),
    "SGD batch_size -1": ("batch_size", dict(method=cn.SGD(batch_size=-1))),
    "SGD max_seconds nan": ("max_seconds", dict(method=cn.SGD(max_seconds=float("nan")))),
    "sampler option as a kwarg": ("model_args", dict(max_draws=100)),
}
if hasattr(cn, "SMC"):
    SAMPLE_CASES["SMC target_ess 1.5"] = ("target_ess", dict(method=cn.SMC(target_ess=1.5)))
    SAMPLE_CASES["SMC target_ess_in_set 0"] = ("target_ess_in_set", dict(method=cn.SMC(target_ess_in_set=0.0)))
    SAMPLE_CASES["SMC target_ess_stalled 1"] = ("target_ess_stalled", dict(method=cn.SMC(target_ess_stalled=1.0)))
    SAMPLE_CASES["SMC max_stages 0"] = ("max_stages", dict(method=cn.SMC(max_stages=0)))
    SAMPLE_CASES["SMC max_seconds 0"] = ("max_seconds", dict(method=cn.SMC(max_seconds=0.0)))
    SAMPLE_CASES["SMC kernel mala"] = ("kernel", dict(method=cn.SMC(kernel="mala")))
    SAMPLE_CASES["SMC final_kernel mala"] = ("final_kernel", dict(method=cn.SMC(final_kernel="mala")))
    SAMPLE_CASES["SMC final_kernel empty"] = ("final_kernel", dict(method=cn.SMC(final_kernel="")))
if hasattr(cn, "Anneal"):
    SAMPLE_CASES["Anneal num_stages 0"] = ("num_stages", dict(method=cn.Anneal(num_stages=0)))
    SAMPLE_CASES["Anneal target_accept 1"] = (
        "target_accept", dict(method=cn.Anneal(target_accept=1.0))
    )


@pytest.mark.parametrize("case", list(SAMPLE_CASES))
def test_bad_sample_arguments_fail_before_compiling(case, xor_problem_small, no_compile):
    name, kwargs = SAMPLE_CASES[case]
    args = dict(method="rejection", num_samples=8, num_chains=2, rng_key=jax.random.key(0),
                progress_bar=False)
    args.update(kwargs)
    with raises_naming(name):
        cn.sample(xor_problem_small, **args)


def test_bad_problem_argument_to_sample(no_compile):
    with raises_naming("problem"):
        cn.sample(42, method="rejection", num_samples=8, rng_key=jax.random.key(0))


def test_the_compile_guard_can_fire(xor_problem_small, no_compile):
    """Control: with valid arguments the patched ``jax.jit`` is reached, so the tests
    above would fail if validation came after compilation."""
    with pytest.raises(Compiled):
        cn.sample(xor_problem_small, method="rejection", num_samples=8, num_chains=2,
                  rng_key=jax.random.key(0), progress_bar=False)


def test_legacy_uint32_keys_are_accepted(xor_problem_small):
    tree = cn.sample(xor_problem_small, method=cn.Rejection(max_draws=4096), num_samples=4,
                     num_chains=2, rng_key=jax.random.PRNGKey(0), progress_bar=False)
    typed = cn.sample(xor_problem_small, method=cn.Rejection(max_draws=4096), num_samples=4,
                      num_chains=2, rng_key=jax.random.key(0), progress_bar=False)
    assert tree.identical(typed)


def test_predict_checks_X_new(xor_problem_small, no_compile):
    with raises_naming("X_new"):
        cn.predict(xor_problem_small, None, np.ones((3, 5)))
    with raises_naming("X_new"):
        cn.predict(xor_problem_small, None, with_nan(np.ones((3, 2))))
    with raises_naming("problem"):
        cn.predict("xor", None, np.ones((3, 2)))


def _regression(X, y):
    import numpyro
    import numpyro.distributions as dist

    w = numpyro.sample("w", dist.Normal(0.0, 1.0).expand([1, 1]).to_event(2))
    cn.consistent("fit", X @ w, y, cn.Tube(0.3))


X6 = np.linspace(-1, 1, 6, dtype=np.float32)[:, None]


def test_the_tube_shape_trap_fails_before_compiling(no_compile):
    """y (6,) against outputs (6, 1) would broadcast to (6, 6): refused, naming both shapes."""
    trap = r"y has shape \(6,\), but Tube needs one target per output: y of the outputs' shape \(6, 1\)"
    with pytest.raises(ValueError, match=trap):
        cn.sample(_regression, X6, 0.5 * X6[:, 0], method="smc", num_samples=8, num_chains=2,
                  rng_key=jax.random.key(0), progress_bar=False)
    with pytest.raises(Compiled):  # the same model with (6, 1) targets gets to compilation
        cn.sample(_regression, X6, 0.5 * X6, method="smc", num_samples=8, num_chains=2,
                  rng_key=jax.random.key(0), progress_bar=False)


def _classifier(labels, outputs=lambda h: h[:, :1], constraint=MARGIN, **declare):
    import numpyro
    import numpyro.distributions as dist

    def model(X, y):
        w = numpyro.sample("w0", dist.Uniform(-3.0, 3.0).expand([2, 3]).to_event(2))
        cn.consistent("fit", outputs(X @ w), y, constraint, **declare)

    return model, labels


MODEL_CASES = {
    "0/1 labels for one output": ("y", _classifier(np.array([0, 1, 1, 0]))),
    "labels (n, 1) for Margin": ("y", _classifier(Y_XOR[:, None])),
    "too few labels": ("y", _classifier(Y_XOR[:3])),
    "float classes": ("y", _classifier(np.array([0.0, 1.0, 2.0, 1.0]), outputs=lambda h: h)),
    "class out of range": ("y", _classifier(np.array([0, 1, 3, 1]), outputs=lambda h: h)),
    "string labels": ("y", _classifier(np.array(["a", "b", "a", "b"]))),
    "NaN target": ("y", _classifier(with_nan(np.zeros((4, 1))), constraint=cn.Tube(0.1))),
    "one-dimensional outputs": ("outputs", _classifier(Y_XOR, outputs=lambda h: h[:, 0])),
    "integer outputs": ("outputs", _classifier(Y_XOR, outputs=lambda h: (h[:, :1] > 0).astype(jnp.int32))),
    "net of another width": ("net", _classifier(Y_XOR, outputs=lambda h: h, net=cn.MLP([2, 3, 1]))),
    "sites missing a layer": ("sites", _classifier(Y_XOR, net=cn.MLP([2, 3, 1]), sites={"w0": "w0"})),
}


@pytest.mark.parametrize("case", list(MODEL_CASES))
def test_bad_consistency_sites_fail_before_compiling(case, no_compile):
    name, (model, labels) = MODEL_CASES[case]
    with raises_naming(name):
        cn.sample(model, X_XOR, labels, method="rejection", num_samples=8, num_chains=2,
                  rng_key=jax.random.key(0), progress_bar=False)


def _model_with(first_layer=None, scale=None, extra=None):
    """An XOR model whose first layer, output scale or an extra site the case replaces."""
    import numpyro
    import numpyro.distributions as dist

    def model(X, y):
        w0 = (first_layer or (lambda: numpyro.sample("w0", dist.Uniform(-3.0, 3.0).expand([2, 3]).to_event(2))))()
        b0 = numpyro.sample("b0", dist.Uniform(-3.0, 3.0).expand([3]).to_event(1))
        w1 = numpyro.sample("w1", dist.Uniform(-3.0, 3.0).expand([3, 1]).to_event(2))
        b1 = numpyro.sample("b1", dist.Uniform(-3.0, 3.0).expand([1]).to_event(1))
        s = scale() if scale else 1.0
        if extra:
            extra()
        cn.consistent("fit", s * (jnp.tanh(X @ w0 + b0) @ w1 + b1), y, MARGIN, net=cn.MLP([2, 3, 1]))

    return model


def _improper():
    import numpyro
    import numpyro.distributions as dist

    return numpyro.sample("w0", dist.ImproperUniform(dist.constraints.real, (), (2, 3)))


def _wide():
    import numpyro
    import numpyro.distributions as dist

    return numpyro.sample("w0", dist.Uniform(-3.0, 3.0).expand([2, 4]).to_event(2))[:, :3] * 1.0


MODEL_TRAPS = {  # (model, X, message): refused before anything compiles, naming the site
    "NaN in X": (_model_with(), with_nan(X_XOR), r"consistency site 'fit' has non-finite outputs"),
    "improper prior": (_model_with(first_layer=_improper), X_XOR, r"model site 'w0' cannot be sampled"),
    "numpyro.param": (_model_with(scale=lambda: __import__("numpyro").param("s", 2.0)), X_XOR,
                      r"model sites \['s'\] are numpyro.param"),
    "net= of another shape": (_model_with(first_layer=_wide), X_XOR,
                              r"parameter 'w0' has shape \(2, 3\), but site 'w0' has shape \(2, 4\)"),
}


@pytest.mark.parametrize("case", list(MODEL_TRAPS))
def test_model_traps_fail_before_compiling(case, no_compile):
    model, X, message = MODEL_TRAPS[case]
    with pytest.raises(ValueError, match=message):
        cn.sample(model, X, Y_XOR, num_samples=8, num_chains=2, rng_key=jax.random.key(0), progress_bar=False)
    with pytest.raises(Compiled):  # the same model on clean data and proper sites gets to compilation
        cn.sample(_model_with(), X_XOR, Y_XOR, num_samples=8, num_chains=2, rng_key=jax.random.key(0),
                  progress_bar=False)


def test_an_observed_site_is_named_in_a_warning(no_compile):
    """A likelihood besides the consistency site changes what log_volume means: said."""
    import numpyro
    import numpyro.distributions as dist

    model = _model_with(extra=lambda: numpyro.sample("noise", dist.Normal(0.0, 1.0), obs=0.5))
    with pytest.warns(UserWarning, match=r"model sites \['noise'\] are observed.*not the prior volume of S"):
        with pytest.raises(Compiled):
            cn.sample(model, X_XOR, Y_XOR, num_samples=8, num_chains=2, rng_key=jax.random.key(0),
                      progress_bar=False)


def test_labels_computed_in_the_model_are_checked_by_value():
    """Labels the model computes with jnp are traced when its seeded trace compiles: their
    values are checked on the host afterwards, naming the site, before any sampler."""
    import numpyro
    import numpyro.distributions as dist

    def model(X, y01):
        w = numpyro.sample("w0", dist.Uniform(-3.0, 3.0).expand([2, 1]).to_event(2))
        cn.consistent("fit", X @ w, 2 * jnp.asarray(y01) - 1, MARGIN)

    with pytest.raises(ValueError, match=r"^y .*\(consistency site 'fit'\)$"):
        cn.sample(model, X_XOR, np.array([0, 2, 2, 0]), num_samples=8, num_chains=2, rng_key=jax.random.key(0),
                  progress_bar=False)


def test_labels_traced_inside_jit_are_checked_by_shape():
    """Under jit the label values are unknown: shapes and dtypes are still checked."""
    from numpyro import handlers

    model, _ = _classifier(Y_XOR)
    run = jax.jit(lambda y: handlers.trace(handlers.seed(model, 0)).get_trace(X_XOR, y)["fit"]["infer"]["in_set"])
    assert run(jnp.asarray(Y_XOR, jnp.float32)).shape == ()
    with raises_naming("y"):
        run(jnp.asarray(Y_XOR[:, None], jnp.float32))


def test_predict_for_a_model_checks_before_compiling(no_compile):
    model, labels = _classifier(Y_XOR)
    with raises_naming("model_args"):  # run with labels: the model is checked before the tree
        cn.predict(model, None, X_XOR, labels)
