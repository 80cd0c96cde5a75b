"""Plots draw without error, return their axes, and refuse what they cannot show."""

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

import consistent_nets as cn  # noqa: E402
from consistent_nets import plots  # noqa: E402
from consistent_nets.diagnostics.calibrate import Calibration  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_decision_regions_and_orbits(xor_problem, xor_rejection):
    ax = plots.decision_regions(xor_rejection, xor_problem, num_grid=20)
    assert ax.get_title() == "decision regions of the draws"
    ax = plots.orbit_histogram(xor_rejection, xor_problem)
    assert len(ax.patches) >= 48
    ax = plots.chord_histogram(xor_rejection, xor_problem, jax.random.key(0), max_draws=200)
    assert len(ax.patches) >= 20


def test_rank_histograms():
    rng = np.random.default_rng(0)
    result = Calibration({"depth": rng.integers(0, 20, 30), "norm": rng.integers(0, 20, 30)}, 20,
                         {"depth": 0.5, "norm": 0.4}, 0.8, True, 0.01)
    axes = plots.rank_histograms(result)
    assert len(axes) == 2
    with pytest.raises(ValueError, match="calibration"):
        plots.rank_histograms(None)


def test_smc_stages_only_when_present(xor_rejection):
    with pytest.raises(ValueError, match="smc_stages"):
        plots.smc_stages(xor_rejection)
    tree = xor_rejection.copy()
    stage = np.arange(5.0)
    tree["smc_stages"] = xr.Dataset(
        {"beta": (("chain", "stage"), np.tile(10.0**stage, (2, 1))),
         "ess": (("chain", "stage"), np.full((2, 5), 0.5))}
    )
    axes = plots.smc_stages(tree)
    assert [ax.get_title() for ax in axes if ax.get_visible()] == ["beta", "ess"]


def test_bad_inputs(xor_rejection):
    X, y = cn.datasets.random_labels(10, 3)
    problem = cn.Problem(cn.MLP([3, 2, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
    with pytest.raises(ValueError, match="problem"):
        plots.decision_regions(xor_rejection, problem)
    with pytest.raises(ValueError, match="problem"):
        plots.orbit_histogram(xor_rejection, "xor")
