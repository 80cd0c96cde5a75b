"""The driver: one loop for every sampler, with budgets, Ctrl-C, warnings and errors.

A toy sampler counts stages; it is done after ``needed`` of them and can be told to
find nothing (infeasible) or to raise KeyboardInterrupt at a given stage.
"""

import time
import warnings
from dataclasses import dataclass

import jax
import numpy as np
import pytest

import consistent_nets as cn
from consistent_nets.extend import Infeasible, Result, Sampler, run


@dataclass(frozen=True)
class Counter(Sampler):
    needed: int = 3
    interrupt_at: int = -1
    seconds_per_stage: float = 0.0
    found: bool = True
    max_stages: int | None = None
    max_seconds: float | None = None
    name = "counter"

    def start(self, target, rng_key, num_samples, num_chains):
        shapes = {"w": ()} if target is None else target.site_shapes
        return {"stages": 0, "shapes": shapes}

    def stop(self, state):
        return "done" if state["stages"] >= self.needed else None

    def advance(self, state, stage):
        if stage == self.interrupt_at:
            raise KeyboardInterrupt
        time.sleep(self.seconds_per_stage)
        return {**state, "stages": state["stages"] + 1}, None

    def progress(self, state, info):
        return state["stages"], {}

    def finish(self, state, stop_reason):
        if not self.found:
            return Infeasible("found nothing", -7.0)
        n = max(state["stages"], 1)
        posterior = {k: np.zeros((1, n, *shape)) for k, shape in state["shapes"].items()}
        return Result(posterior, {"in_set": np.ones((1, n), bool)}, -1.0, 0.1,
                      complete=stop_reason == "done", note=f"{state['stages']} stages")


def drive(sampler):
    return run(sampler, None, None, 10, 1, progress_bar=False)


def test_runs_until_the_sampler_is_done():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = drive(Counter(needed=3))
    assert result.complete and result.attrs["stop_reason"] == "done"
    assert result.attrs["method"] == "counter" and result.posterior["w"].shape == (1, 3)


def test_stage_budget_ends_the_run_with_a_warning():
    with pytest.warns(RuntimeWarning, match=r"counter budget \(max_stages\) exhausted: 2 stages"):
        result = drive(Counter(needed=10, max_stages=2))
    assert not result.complete and result.attrs["stop_reason"] == "max_stages"


def test_time_budget_is_checked_between_stages():
    with pytest.warns(RuntimeWarning, match=r"max_seconds"):
        result = drive(Counter(needed=10**6, seconds_per_stage=0.01, max_seconds=0.05))
    assert result.attrs["stop_reason"] == "max_seconds"
    assert 1 <= result.posterior["w"].shape[1] < 100


def test_ctrl_c_keeps_the_completed_stages():
    with pytest.warns(RuntimeWarning, match="interrupted"):
        result = drive(Counter(needed=10, interrupt_at=4))
    assert result.attrs["stop_reason"] == "interrupted" and not result.complete
    assert result.posterior["w"].shape == (1, 4)


def test_nothing_found_raises_infeasible_error_with_the_bound():
    with pytest.raises(cn.InfeasibleError, match="counter: found nothing") as err:
        drive(Counter(found=False))
    assert err.value.log_volume_upper_bound == -7.0


def test_a_registered_sampler_runs_through_cn_sample(xor_problem):
    from consistent_nets.extend import SAMPLERS, register_sampler

    register_sampler(Counter)
    try:
        tree = cn.sample(xor_problem, method="counter", num_samples=4, rng_key=jax.random.key(0), progress_bar=False)
        assert tree.attrs["method"] == "counter" and tree.attrs["complete"] == 1
        with pytest.raises(ValueError, match="registered already"):
            register_sampler(type("Other", (Counter,), {"name": "counter"}))
    finally:
        SAMPLERS.pop("counter")
