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

import consistent_nets as cn  # noqa: E402
from consistent_nets._output import build_tree  # noqa: E402
from consistent_nets.diagnostics.draws import flat_params  # noqa: E402

#: exact log vol(S) of XOR, 2-3-1 tanh, box 3, margin 0 (rejection over 1.7e8 prior
#: draws: -5.191 ± 0.003); tests compare estimates with it within their SEs
XOR_LOG_VOLUME = -5.191


def tree_from(params, num_chains, attrs=None, stats=None):
    """A DataTree of flattened draws ``params`` (``(N, ...)`` per site) in ``num_chains`` chains."""
    draws = {k: v.reshape((num_chains, -1) + v.shape[1:]) for k, v in params.items()}
    shape = next(iter(draws.values())).shape[:2]
    return build_tree(draws, stats or {"in_set": np.ones(shape, bool)}, attrs or {"method": "test"})


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
