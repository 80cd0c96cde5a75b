"""Test configuration: two host devices, as on the CI machine (set before JAX starts)."""

import os
import tempfile

# two host devices, as on the CI machine; test problems are tiny, so compile time
# dominates and XLA's cheaper optimisation pipeline halves it (statistics unaffected;
# floating-point details may differ from a default build)
os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_force_host_platform_device_count=2 --xla_backend_optimization_level=0 "
    "--xla_llvm_disable_expensive_passes=true",
)
os.environ.setdefault("MPLBACKEND", "Agg")
# Tests build the same small programs many times (a new closure per cn.sample call);
# JAX's persistent cache turns the repeats into cache hits. Results are unaffected.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(tempfile.gettempdir(), "consistent-nets-jax-cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import background  # noqa: E402
import consistent_nets as cn  # noqa: E402
from consistent_nets._output import build_tree  # noqa: E402
from consistent_nets.diagnostics.draws import flat_params  # noqa: E402


def pytest_collection_finish(session):
    """Start the background jobs the selected tests read (``background.py``), in their order.

    Not under ``--collect-only``, nor in a ``pytest-xdist`` worker (every worker collects
    every test; there a job starts when a test asks for it).
    """
    if session.config.option.collectonly or hasattr(session.config, "workerinput"):
        return
    names = [m.args[0] for item in session.items for m in item.iter_markers("background")]
    if names:
        background.runner().start(dict.fromkeys(names))


def pytest_sessionfinish(session):
    background.close()


#: exact log vol(S) of XOR, 2-3-1 tanh, box 3, margin 0 (rejection over 1.7e8 prior
#: draws: -5.191 ± 0.003); tests compare estimates with it within their SEs
XOR_LOG_VOLUME = -5.191


def tree_from(params, num_chains, attrs=None, stats=None):
    """A DataTree of flattened draws ``params`` (``(N, ...)`` per site) in ``num_chains`` chains."""
    draws = {k: v.reshape((num_chains, -1) + v.shape[1:]) for k, v in params.items()}
    shape = next(iter(draws.values())).shape[:2]
    return build_tree(draws, stats or {"in_set": np.ones(shape, bool)}, attrs or {"method": "test"})


def net_outputs(problem, params, X):
    """``f_w(X)`` of every flattened draw ``params``: shape ``(N, len(X) * d_out)``."""
    apply = jax.jit(jax.vmap(problem.net.apply, in_axes=(0, None)))
    f = np.asarray(apply({k: jax.numpy.asarray(v) for k, v in params.items()}, jax.numpy.asarray(X)))
    return f.reshape(f.shape[0], -1)


def probe_outputs(problem, params, num_random=16):
    """Outputs at the training inputs and ``num_random`` random probe points (key 0)."""
    return net_outputs(problem, params, problem.probe_points(jax.random.key(0), num_random))


def depth_features(problem, params, X_random):
    """Sorted training depths then outputs at ``X_random``, as the reference check sees them."""
    slack = jax.vmap(lambda p: problem.constraint.point_slack(problem.net.apply(p, problem.X), problem.y))(
        {k: jax.numpy.asarray(v) for k, v in params.items()}
    )
    return np.concatenate([np.sort(-np.asarray(slack), axis=1), net_outputs(problem, params, X_random)], axis=1)


@pytest.fixture(scope="session")
def xor_problem():
    X, y = cn.datasets.xor()
    return cn.Problem(cn.MLP([2, 3, 1], activation="tanh"), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))


@pytest.fixture(scope="session")
def xor_rejection(xor_problem):
    """2000 exact draws from S for XOR (the reference sample)."""
    return cn.sample(
        xor_problem, method="rejection", num_samples=2000, rng_key=jax.random.key(0), progress_bar=False
    )


@pytest.fixture(scope="session")
def xor_sgd(xor_problem):
    """The folk heuristic on XOR: 1000 successful training runs."""
    return cn.sample(
        xor_problem, method="sgd", num_samples=1000, rng_key=jax.random.key(0), progress_bar=False
    )


@pytest.fixture(scope="session")
def xor_smc(xor_problem):
    """The default method on XOR: 2000 draws from tempered SMC (4 chains of 500)."""
    return cn.sample(xor_problem, method="smc", num_samples=2000, rng_key=jax.random.key(0), progress_bar=False)


@pytest.fixture(scope="session")
def exact(xor_rejection, xor_problem):
    """The 2000 exact XOR draws, flattened to ``(draw, ...)``, and ``(chain, draw)``."""
    return flat_params(xor_rejection, xor_problem.net)


#: the network of the hand-written model below (its hidden-unit symmetries are declared)
SCALED_NET = cn.MLP([2, 3, 1], activation="tanh")


def scaled_model(X, y=None):
    """XOR by a hand-written NumPyro model with constrained-support priors.

    A LogNormal temperature ``s`` of the hidden layer and a HalfNormal output scale ``t``
    (both positive: NumPyro samples them through exp), box hidden weights, normal output
    weights; margin 0.1, so ``t`` and the output weights share S. ``y=None`` records the
    outputs instead (``cn.predict``).
    """
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    s = numpyro.sample("s", dist.LogNormal(0.0, 0.5))
    t = numpyro.sample("t", dist.HalfNormal(1.0))
    w0 = numpyro.sample("w0", dist.Uniform(-3.0, 3.0).expand([2, 3]).to_event(2))
    b0 = numpyro.sample("b0", dist.Uniform(-3.0, 3.0).expand([3]).to_event(1))
    w1 = numpyro.sample("w1", dist.Normal(0.0, 1.0).expand([3, 1]).to_event(2))
    b1 = numpyro.sample("b1", dist.Normal(0.0, 1.0).expand([1]).to_event(1))
    outputs = t * (jnp.tanh(s * (X @ w0 + b0)) @ w1 + b1)
    cn.consistent("fit", outputs, y, cn.Margin(0.1), net=SCALED_NET)


@pytest.fixture(scope="session")
def scaled_rejection():
    """2000 exact draws from S of :func:`scaled_model` (acceptance about 0.17 %), not
    symmetrized (its ``net=`` would have cn.sample do it), so the orbit test runs on them."""
    X, y = cn.datasets.xor()
    return cn.sample(scaled_model, X, y, method="rejection", num_samples=2000, rng_key=jax.random.key(0),
                     progress_bar=False, symmetrize=False)


@pytest.fixture(scope="session")
def scaled_sgd():
    """The SGD heuristic on :func:`scaled_model`: biased towards the boundary of S (not
    symmetrized: the sampler's own draws)."""
    X, y = cn.datasets.xor()
    return cn.sample(scaled_model, X, y, method="sgd", num_samples=500, rng_key=jax.random.key(0), progress_bar=False,
                     symmetrize=False)
