"""The feasibility probe: empty S refused within seconds with a remedy, non-empty S never.

No timed assertions (the 5 s on XOR is a benchmark, ``benchmarks/latency.py``); the
refusals below are the two cases of the issue: a network without a hidden layer on XOR
(S is the null set "every output 0") and a margin the box prior cannot reach.
"""

import math

import jax
import numpy as np
import pytest

import consistent_nets as cn
from consistent_nets.extend import make_target
from consistent_nets.samplers.feasibility import Probe, probe, remedy
from consistent_nets.samplers.rejection import log_upper_bound_no_success

X_XOR, Y_XOR = cn.datasets.xor()
BOX = cn.BoxPrior(3.0)


def refused(problem, method="smc"):
    with pytest.raises(cn.InfeasibleError) as info:
        cn.sample(problem, method=method, num_samples=16, num_chains=2, rng_key=jax.random.key(0), progress_bar=False)
    return info.value


def test_linear_net_on_xor_is_refused_with_a_remedy():
    err = refused(cn.Problem(cn.MLP([2, 1]), X_XOR, Y_XOR, BOX, cn.Margin(0.0)))
    message = str(err)
    assert message.startswith("smc: S looks empty") and "hidden layer" in message
    assert "feasibility_probe=False" in message
    # the bound is the rejection bound of the probe's prior draws: valid whatever the optimiser did
    num_draws = int(message.split("none of ")[1].split(" prior draws")[0])
    assert num_draws >= Probe().bound_draws
    assert err.log_volume_upper_bound == pytest.approx(log_upper_bound_no_success(num_draws))
    assert f"log vol(S) <= {err.log_volume_upper_bound:.4g}" in message


def test_unreachable_margin_on_xor_is_refused_with_a_smaller_margin():
    err = refused(cn.Problem(cn.MLP([2, 3, 1]), X_XOR, Y_XOR, BOX, cn.Margin(5.0)))
    assert "smaller margin (e.g. cn.Margin(2.5)" in str(err) and "wider network" in str(err)
    assert math.isfinite(err.log_volume_upper_bound) and err.log_volume_upper_bound < 0


def test_anneal_is_probed_too():
    err = refused(cn.Problem(cn.MLP([2, 1]), X_XOR, Y_XOR, BOX, cn.Margin(0.0)), method="anneal")
    assert str(err).startswith("anneal: S looks empty")


def test_tube_remedy_names_a_larger_tolerance():
    X = np.linspace(-1, 1, 12, dtype=np.float32)[:, None]
    target = make_target(cn.Problem(cn.MLP([1, 1]), X, np.sin(3 * X), BOX, cn.Tube(0.05)))
    found = probe(target, jax.random.key(0))
    assert found is not None and "larger Tube tolerance (e.g. cn.Tube(0.1))" in found.message


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_random_labels_are_not_refused(seed):
    """The guard: S of volume ~e^-42, no prior draw in it, yet the probe must let it through."""
    X, y = cn.datasets.random_labels(40, 2, seed)
    target = make_target(cn.Problem(cn.MLP([2, 16, 1]), X, y, BOX, cn.Margin(0.0)))
    assert probe(target, jax.random.key(seed)) is None


def test_hand_written_model_gets_the_generic_remedy():
    import numpyro
    import numpyro.distributions as dist

    def linear(X, y):
        w = numpyro.sample("w", dist.Uniform(-3, 3).expand([2, 1]).to_event(2))
        cn.consistent("fit", X @ w, y, cn.Margin(0.0))

    found = probe(make_target(linear, X_XOR, Y_XOR), jax.random.key(0))
    assert found is not None and "a smaller Margin, a larger Tube eps" in found.message


def test_the_probe_leaves_the_samplers_stream_alone(xor_problem, xor_smc):
    """Same key, same tree with and without the probe (it draws from its own stream), and
    opting out reuses the compiled programs (the flag is not part of their keys)."""
    assert cn.SMC(feasibility_probe=False) == cn.SMC()
    tree = cn.sample(xor_problem, method=cn.SMC(feasibility_probe=False), num_samples=2000,
                     rng_key=jax.random.key(0), progress_bar=False)
    np.testing.assert_array_equal(tree.posterior["w0"].values, xor_smc.posterior["w0"].values)


def test_remedies_by_constraint(xor_problem):
    assert "smaller margin" not in remedy(make_target(xor_problem))
    assert "cn.MLP([2, 6, 1])" in remedy(make_target(xor_problem))


def test_settings_are_checked():
    with pytest.raises(ValueError, match="num_starts"):
        Probe(num_starts=0).validate()
    with pytest.raises(ValueError, match="push"):
        Probe(push=-1.0).validate()


@pytest.mark.slow
def test_random_labels_are_sampled():
    X, y = cn.datasets.random_labels(40, 2, 3)
    problem = cn.Problem(cn.MLP([2, 16, 1]), X, y, BOX, cn.Margin(0.0))
    tree = cn.sample(problem, num_samples=400, num_chains=2, rng_key=jax.random.key(0), progress_bar=False)
    assert bool(tree.sample_stats["in_set"].all()) and tree.attrs["log_volume"] < -20
