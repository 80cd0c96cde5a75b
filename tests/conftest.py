"""Test configuration: two host devices, as on the CI machine (set before JAX starts)."""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402
import pytest  # noqa: E402

import consistent_nets as cn  # noqa: E402


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
