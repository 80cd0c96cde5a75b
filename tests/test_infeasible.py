"""Empty or unreachable S: ``InfeasibleError`` with a float upper bound, never a hang."""

import math
import pickle
import time

import jax
import numpy as np
import pytest

import consistent_nets as cn
from consistent_nets.samplers.rejection import log_upper_bound_no_success

X_XOR, Y_XOR = cn.datasets.xor()
BOX = cn.BoxPrior(3.0)

#: methods whose default run on a tiny problem takes more than a few seconds on 2 cores
SLOW_METHODS = {"smc", "anneal"}


def methods_with_marks():
    return [
        pytest.param(m, marks=pytest.mark.slow) if m in SLOW_METHODS else m for m in cn.METHODS
    ]


# -- contradictory data: detected by Problem, before any sampling ----------------------------


def duplicated(X, y, i, label):
    """Append a copy of row ``i`` of ``X`` with target ``label``."""
    return np.concatenate([X, X[i : i + 1]]), np.concatenate([y, np.asarray([label], y.dtype)])


def assert_contradiction(err, rows):
    assert isinstance(err.log_volume_upper_bound, float)
    assert err.log_volume_upper_bound == -math.inf
    message = str(err)
    assert "contradictory data" in message and str(rows) in message
    assert "log vol(S) <= -inf" in message


def test_binary_contradiction():
    X, y = duplicated(X_XOR, Y_XOR, 1, -Y_XOR[1])
    with pytest.raises(cn.InfeasibleError) as info:
        cn.Problem(cn.MLP([2, 3, 1]), X, y, BOX, cn.Margin(0.0))
    assert_contradiction(info.value, [1, 4])
    assert "labels [1, -1]" in str(info.value)


def test_binary_contradiction_with_01_labels():
    X, y = duplicated(X_XOR, (Y_XOR > 0).astype(np.int32), 0, 1)
    with pytest.raises(cn.InfeasibleError) as info:
        cn.Problem(cn.MLP([2, 3, 1]), X, y, BOX, cn.Margin(0.5))
    assert_contradiction(info.value, [0, 4])


def test_multiclass_contradiction():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [2.0, 2.0]], np.float32)
    y = np.array([0, 1, 2, 2])
    with pytest.raises(cn.InfeasibleError) as info:
        cn.Problem(cn.MLP([2, 3, 3]), X, y, BOX, cn.Margin(0.0))
    assert_contradiction(info.value, [0, 2])


def test_consistent_duplicates_are_fine():
    X, y = duplicated(X_XOR, Y_XOR, 2, Y_XOR[2])
    problem = cn.Problem(cn.MLP([2, 3, 1]), X, y, BOX, cn.Margin(0.0))
    assert problem.num_data == 5


@pytest.mark.parametrize(
    ("eps", "feasible"), [(0.1, False), (0.24, False), (0.25, False), (0.26, True), (1.0, True)]
)
def test_tube_contradiction_at_two_eps(eps, feasible):
    # rows 0 and 3 are the same input; the targets differ by 0.5 in the second output
    X = np.array([[0.0], [1.0], [2.0], [0.0]], np.float32)
    y = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 0.0], [0.0, 1.5]], np.float32)
    build = lambda: cn.Problem(cn.MLP([1, 2]), X, y, BOX, cn.Tube(eps))  # noqa: E731
    if feasible:
        assert build().num_data == 4
    else:
        with pytest.raises(cn.InfeasibleError) as info:
            build()
        assert_contradiction(info.value, [0, 3])
        assert "differ by 0.5" in str(info.value)


def test_infeasible_error_pickles():
    err = cn.InfeasibleError("rejection: nothing", -12.5)
    again = pickle.loads(pickle.dumps(err))
    assert again.log_volume_upper_bound == -12.5 and str(again) == str(err)


# -- an architecture too small to fit: every method ends within its budget -------------------


@pytest.fixture(scope="module")
def linear_xor():
    return cn.Problem(cn.MLP([2, 1]), X_XOR, Y_XOR, BOX, cn.Margin(0.0))


def timed_infeasible(problem, method, **kwargs):
    start = time.perf_counter()
    with pytest.raises(cn.InfeasibleError) as info:
        cn.sample(problem, method=method, num_chains=2, rng_key=jax.random.key(0),
                  progress_bar=False, **{"num_samples": 16, **kwargs})
    return info.value, time.perf_counter() - start





@pytest.mark.parametrize("method", methods_with_marks())
def test_default_budget_ends_in_infeasible_error(linear_xor, method):
    """Every method with its default budget: InfeasibleError, a finite float bound,
    within a minute (measured on 2 shared cores: rejection ~3 s for 2**24 draws,
    sgd ~1.5 s)."""
    err, seconds = timed_infeasible(linear_xor, method)
    assert seconds < 60, f"{method} took {seconds:.1f} s to give up"
    bound = err.log_volume_upper_bound
    assert isinstance(bound, float) and bound <= 0.0 and not math.isnan(bound)
    assert f"{bound:.4g}" in str(err)
    if method == "rejection":
        assert bound == pytest.approx(log_upper_bound_no_success(cn.Rejection().max_draws))
    if method == "sgd":
        assert bound == 0.0  # SGD measures no volume: the trivial bound
        assert "none of 1024 training runs" in str(err) and "2000 steps" in str(err)


@pytest.mark.slow
@pytest.mark.parametrize("method", sorted(SLOW_METHODS & set(cn.METHODS)))
def test_feasible_xor_still_samples(xor_problem, method):
    """The samplers that give up on linear XOR do not give up on XOR with 3 hidden units
    (rejection and sgd are exercised on it throughout the suite)."""
    tree = cn.sample(xor_problem, method=method, num_samples=32, num_chains=2,
                     rng_key=jax.random.key(3), progress_bar=False)
    assert bool(tree.sample_stats["in_set"].all())
    assert tree.posterior.sizes["chain"] * tree.posterior.sizes["draw"] == 32
    assert tree.attrs["method"] == method and tree.attrs["complete"] == 1


SMALL_BUDGETS = {
    "rejection": cn.Rejection(max_draws=2**15),
    "sgd": cn.SGD(max_steps=200, max_inits=64),
}


@pytest.mark.parametrize(
    "method",
    [m if m == "rejection" else pytest.param(m, marks=pytest.mark.slow) for m in cn.METHODS],
)
def test_contradictory_data_through_the_model_path(xor_problem, method):
    """A NumPyro model gets no data check up front: the sampler itself must end in
    InfeasibleError (contradictory labels at margin 0 leave S of volume 0)."""
    X, y = duplicated(X_XOR, np.asarray(xor_problem.y), 0, -float(xor_problem.y[0]))
    start = time.perf_counter()
    with pytest.raises(cn.InfeasibleError) as info:
        cn.sample(xor_problem.model, X, y, method=SMALL_BUDGETS.get(method, method),
                  num_samples=16, num_chains=2, rng_key=jax.random.key(0), progress_bar=False)
    assert time.perf_counter() - start < 60
    assert info.value.log_volume_upper_bound <= 0.0
