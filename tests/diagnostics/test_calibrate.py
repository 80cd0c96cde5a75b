"""Planted-teacher calibration (SBC): exact draws give uniform ranks, biased ones do not.

Small numpy samplers check the rank statistics themselves; the library's own methods run
on 30 XOR-scale teachers each (teacher problems share one compiled program, so this
takes seconds): rejection and smc must pass, the SGD heuristic must fail.
"""

from dataclasses import dataclass

import jax
import numpy as np
import pytest

import consistent_nets as cn
from consistent_nets.diagnostics.calibrate import _rank_p_value, teacher_problem
from consistent_nets.extend import Result, Sampler


def _forward(problem, params):
    act = np.tanh
    h = np.asarray(problem.X)[None]
    for layer in range(problem.net.num_layers):
        h = h @ params[f"w{layer}"] + params[f"b{layer}"][:, None, :]
        if layer < problem.net.num_layers - 1:
            h = act(h)
    return h[..., 0]


@dataclass(frozen=True)
class NumpyRejection(Sampler):
    """Exact rejection in numpy; ``keep="deep"`` keeps only the deeper half (biased)."""

    keep: str = "all"
    name = "numpy-rejection"

    def start(self, target, rng_key, num_samples, num_chains):
        return target, rng_key, num_samples  # all the work is done in finish

    def stop(self, state):
        return "done"

    def finish(self, state, stop_reason):
        target, rng_key, num_samples = state
        problem = target.problem
        rng = np.random.default_rng(np.asarray(jax.random.key_data(rng_key)).tolist())
        y = np.asarray(problem.y)
        kept, depths = [], []
        while sum(len(d) for d in depths) < 2 * num_samples:
            params = {k: rng.uniform(-3, 3, (4096,) + s).astype(np.float32) for k, s in problem.net.param_shapes.items()}
            margins = y * _forward(problem, params)
            ok = np.all(margins >= 0, axis=1)
            kept.append({k: v[ok] for k, v in params.items()})
            depths.append(margins.min(axis=1)[ok])
        params = {k: np.concatenate([c[k] for c in kept]) for k in problem.net.param_shapes}
        depth = np.concatenate(depths)
        if self.keep == "deep":
            idx = np.argsort(depth)[len(depth) // 2 :][:num_samples]
            idx = rng.permutation(idx)
        else:
            idx = np.arange(num_samples)
        draws = {k: v[idx].reshape((1, num_samples) + v.shape[1:]) for k, v in params.items()}
        return Result(draws, {"in_set": np.ones((1, num_samples), bool)}, float("nan"), float("nan"))


NET = cn.MLP([2, 2, 1])


def test_teacher_is_in_its_own_solution_set():
    for seed in range(3):
        problem, w_star, _ = teacher_problem(NET, cn.BoxPrior(3.0), cn.Margin(0.2), 6, jax.random.key(seed))
        margins = np.asarray(problem.y) * np.asarray(NET.apply(w_star, problem.X))[:, 0]
        assert margins.min() >= 0.2
    problem, w_star, _ = teacher_problem(NET, cn.NormalPrior(1.0), cn.Tube(0.1), 5, jax.random.key(0))
    assert np.max(np.abs(np.asarray(NET.apply(w_star, problem.X)) - np.asarray(problem.y))) <= 0.1


def test_exact_sampler_calibrates():
    result = cn.calibrate(NET, cn.BoxPrior(3.0), cn.Margin(0.0), n=4, num_teachers=40,
                          method=NumpyRejection(), rng_key=jax.random.key(0), num_samples=49)
    assert result.passed, str(result)
    assert result.num_ranks == 50 and all(r.shape == (40,) for r in result.ranks.values())
    assert all(r.min() >= 0 and r.max() <= 49 for r in result.ranks.values())


def test_biased_sampler_fails_calibration():
    result = cn.calibrate(NET, cn.BoxPrior(3.0), cn.Margin(0.0), n=4, num_teachers=40,
                          method=NumpyRejection(keep="deep"), rng_key=jax.random.key(0), num_samples=49)
    assert not result.passed
    assert result.p_values["depth"] < 1e-4
    assert "FAILED" in str(result)


def test_rank_p_value_uses_exact_bin_probabilities():
    # 7 rank values in 3 bins: sizes 3, 2, 2 (ceil of edges 0, 2.33, 4.67, 7)
    ranks = np.array([0, 1, 2, 3, 4, 5, 6] * 10)
    assert _rank_p_value(ranks, 7, 3) > 0.99


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"net": "mlp"}, "net"),
        ({"prior": 3.0}, "prior"),
        ({"constraint": None}, "constraint"),
        ({"n": 0}, "n"),
        ({"num_teachers": 3}, "num_teachers"),
        ({"rng_key": None}, "rng_key"),
        ({"alpha": 2.0}, "alpha"),
        ({"method": "mcmc"}, "method"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, name):
    args = dict(net=NET, prior=cn.BoxPrior(3.0), constraint=cn.Margin(0.0), n=4, num_teachers=10,
                method="rejection", rng_key=jax.random.key(0), num_samples=9) | kwargs
    with pytest.raises(ValueError, match=name):
        cn.calibrate(**args)


@pytest.mark.parametrize("method", ["rejection", "smc"])
def test_library_methods_calibrate_at_xor_scale(method):
    """SBC over 30 planted XOR-scale teachers (one compiled program serves them all)."""
    result = cn.calibrate(cn.MLP([2, 3, 1]), cn.BoxPrior(3.0), cn.Margin(0.0), n=4, num_teachers=30,
                          method=method, rng_key=jax.random.key(1), num_samples=49)
    assert result.passed, str(result)


def test_sgd_heuristic_fails_calibration():
    result = cn.calibrate(cn.MLP([2, 3, 1]), cn.BoxPrior(3.0), cn.Margin(0.0), n=4, num_teachers=30,
                          method="sgd", rng_key=jax.random.key(1), num_samples=49)
    assert not result.passed, str(result)
