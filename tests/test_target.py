"""``Target.jit``: problems that differ only in their data share one compiled program,
and sharing never leaks one problem's data into another's results."""

from collections import OrderedDict

import jax
import numpy as np
import pytest

import consistent_nets as cn
from consistent_nets import _target as cn_target
from consistent_nets.extend import make_target
from consistent_nets.diagnostics.calibrate import teacher_problem

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


@pytest.mark.parametrize("method", ["smc", "rejection", "sgd"])
def test_shared_program_gives_what_a_fresh_compile_gives(method, monkeypatch):
    """Sample teacher B after teacher A (B reuses A's program), then B alone with an
    empty cache (B compiles its own): the trees must be identical, and differ from A's."""
    kwargs = dict(method=method, num_samples=64, num_chains=2, rng_key=jax.random.key(3), progress_bar=False)
    a, b = _teacher(0), _teacher(1)
    monkeypatch.setattr(cn_target, "_SHARED", OrderedDict())
    tree_a = cn.sample(a, **kwargs)
    size = len(cn_target._SHARED)
    tree_b_shared = cn.sample(b, **kwargs)
    assert len(cn_target._SHARED) == size  # B compiled nothing new
    monkeypatch.setattr(cn_target, "_SHARED", OrderedDict())
    tree_b_fresh = cn.sample(b, **kwargs)
    assert tree_b_shared.identical(tree_b_fresh)
    assert not tree_a["posterior"].identical(tree_b_shared["posterior"])
