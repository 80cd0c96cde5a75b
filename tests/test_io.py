"""Nothing lost: netCDF round trips, and budget-exhausted runs return a partial tree that
says so."""

import math
import warnings

import jax
import numpy as np
import pytest
import xarray as xr

import consistent_nets as cn
from consistent_nets._output import build_tree

SLOW = {"smc", "anneal"}


def round_trip(tree, path):
    tree.to_netcdf(path)
    with xr.open_datatree(path) as loaded:
        return loaded.load()


def assert_round_trip(tree, path):
    loaded = round_trip(tree, path)
    assert set(loaded.children) == set(tree.children)
    assert loaded.identical(tree)  # every group: values, dtypes, coords and attrs
    for group in tree.children:
        for name, var in tree[group].data_vars.items():
            assert loaded[group][name].dtype == var.dtype, f"{group}/{name} dtype changed"
    return loaded


def run(problem, method, **kwargs):
    args = dict(num_chains=2, rng_key=jax.random.key(5), progress_bar=False)
    return cn.sample(problem, method=method, **{**args, **kwargs})


def test_rejection_tree_round_trips(xor_problem, tmp_path):
    tree = run(xor_problem, "rejection", num_samples=16)
    loaded = assert_round_trip(tree, tmp_path / "rejection.nc")
    assert loaded.attrs["complete"] == 1 and loaded.attrs["method"] == "rejection"
    assert loaded.sample_stats["in_set"].dtype == bool


def test_sgd_tree_round_trips_with_nan_attrs(xor_problem, tmp_path):
    tree = run(xor_problem, cn.SGD(max_steps=300, batch_size=32), num_samples=8)
    loaded = assert_round_trip(tree, tmp_path / "sgd.nc")
    assert math.isnan(loaded.attrs["log_volume"])  # sgd estimates no volume, and says so
    assert "log_volume_note" in loaded.attrs


@pytest.mark.slow
@pytest.mark.parametrize("method", sorted(SLOW & set(cn.METHODS)))
def test_population_sampler_tree_round_trips(xor_problem, method, tmp_path):
    tree = run(xor_problem, method, num_samples=16)
    assert_round_trip(tree, tmp_path / f"{method}.nc")


def test_extra_groups_and_attr_types_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    tree = build_tree(
        {"w0": rng.standard_normal((2, 3, 2, 2)).astype(np.float32)},
        {"in_set": np.ones((2, 3), bool), "depth": rng.integers(0, 5, (2, 3)).astype(np.int32)},
        {"method": "rejection", "log_volume": np.float64(-3.5), "num": np.int64(7),
         "complete": np.bool_(False), "flag": True, "nan": float("nan"),
         "jax_scalar": jax.numpy.float32(0.5), "zero_d": np.array(3)},
        extra_groups={"stages": xr.Dataset({"beta": ("stage", np.geomspace(1e-3, 1e8, 6))})},
    )
    assert tree.attrs["complete"] == 0 and tree.attrs["flag"] == 1
    assert tree.attrs["jax_scalar"] == 0.5 and tree.attrs["zero_d"] == 3
    loaded = assert_round_trip(tree, tmp_path / "extra.nc")
    np.testing.assert_array_equal(loaded["stages"]["beta"].values, np.geomspace(1e-3, 1e8, 6))


@pytest.mark.parametrize("bad", [None, {"a": 1}, [1.0, 2.0], object()])
def test_attrs_that_would_not_survive_netcdf_are_refused(bad):
    with pytest.raises(TypeError, match="attrs\\['bad'\\]"):
        build_tree({"w0": np.zeros((1, 2, 1))}, {"in_set": np.ones((1, 2), bool)}, {"bad": bad})


def test_rejection_budget_exhausted_returns_partial_tree(xor_problem, tmp_path):
    # acceptance on XOR with a [2, 3, 1] tanh net is ~0.6 %: 4096 draws give ~25 of 400
    method = cn.Rejection(max_draws=4096, chunk_size=1024)
    with pytest.warns(RuntimeWarning, match=r"budget \(max_draws\) exhausted.*complete'\] = 0"):
        tree = run(xor_problem, method, num_samples=400)
    assert tree.attrs["complete"] == 0 and tree.attrs["stop_reason"] == "max_draws"
    accepted = tree.attrs["num_accepted"]
    assert 0 < accepted < 400 and tree.attrs["num_prior_draws"] == 4096
    size = tree.posterior.sizes["chain"] * tree.posterior.sizes["draw"]
    assert accepted - 2 < size <= accepted  # at most num_chains - 1 dropped to split chains
    assert bool(tree.sample_stats["in_set"].all())
    assert np.isfinite(tree.attrs["log_volume"])  # the estimate uses every draw made
    loaded = assert_round_trip(tree, tmp_path / "partial.nc")
    assert loaded.attrs["complete"] == 0


def test_sgd_budget_exhausted_returns_partial_tree(xor_problem):
    # ~75 % of runs succeed on XOR: 16 runs cannot give 64 successes
    method = cn.SGD(max_steps=300, max_inits=16, batch_size=16)
    with pytest.warns(RuntimeWarning, match=r"budget \(max_inits\) exhausted.*complete'\] = 0"):
        tree = run(xor_problem, method, num_samples=64)
    assert tree.attrs["complete"] == 0 and tree.attrs["stop_reason"] == "max_inits"
    assert tree.attrs["num_inits"] == 16 and 0 < tree.posterior.sizes["draw"] <= 8


def test_complete_run_does_not_warn(xor_problem):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        tree = run(xor_problem, "rejection", num_samples=8)
    assert tree.attrs["complete"] == 1 and tree.attrs["stop_reason"] == "complete"


def test_a_tree_carries_its_data_and_spec(xor_problem, tmp_path):
    tree = run(xor_problem, "rejection", num_samples=16)
    np.testing.assert_array_equal(tree["constant_data"]["X"].values, np.asarray(xor_problem.X))
    np.testing.assert_array_equal(tree["observed_data"]["y"].values, np.asarray(xor_problem.y))
    assert {k: tree.attrs[k] for k in ("cn_problem", "cn_arch", "cn_activation", "cn_prior", "cn_constraint")} == {
        "cn_problem": "Problem", "cn_arch": "2-3-1", "cn_activation": "tanh", "cn_prior": "box:3",
        "cn_constraint": "margin:0",
    }
    assert tree.attrs["cn_version"] == cn.__version__
    assert_round_trip(tree, tmp_path / "with-data.nc")


def test_load_rebuilds_the_problem(tmp_path):
    X, y = cn.datasets.moons(4, 0.1, 0)  # few points: rejection finds its 8 draws at once
    problem = cn.Problem(cn.MLP([2, 4, 1], "relu"), X, y, cn.NormalPrior(1.5), cn.Margin(0.05))
    tree = run(problem, "rejection", num_samples=8)
    tree.to_netcdf(tmp_path / "run.nc")
    loaded, again = cn.load(tmp_path / "run.nc")
    assert loaded.identical(tree)
    assert (again.net, again.prior, again.constraint) == (problem.net, problem.prior, problem.constraint)
    np.testing.assert_array_equal(np.asarray(again.X), np.asarray(problem.X))
    np.testing.assert_array_equal(np.asarray(again.y), np.asarray(problem.y))


def test_load_of_a_model_tree_gives_no_problem(tmp_path):
    from conftest import scaled_model

    X, y = cn.datasets.xor()
    tree = cn.sample(scaled_model, X, y, method="rejection", num_samples=8, num_chains=2,
                     rng_key=jax.random.key(0), progress_bar=False)
    assert tree.attrs["cn_problem"] == "model" and tree.attrs["cn_model"] == "scaled_model"
    assert tree.attrs["cn_constraint"] == "margin:0.1" and tree.attrs["cn_arch"] == "2-3-1"
    np.testing.assert_array_equal(tree["constant_data"]["X"].values, X)
    np.testing.assert_array_equal(tree["observed_data"]["fit"].values, y)
    tree.to_netcdf(tmp_path / "model.nc")
    loaded, problem = cn.load(tmp_path / "model.nc")
    assert problem is None and loaded.identical(tree)


def test_load_refuses_what_is_not_a_tree(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        cn.load(tmp_path / "missing.nc")
    (tmp_path / "notes.nc").write_text("not netCDF")
    with pytest.raises(ValueError, match="not a netCDF"):
        cn.load(tmp_path / "notes.nc")
    xr.DataTree(xr.Dataset({"a": ("x", [1.0])})).to_netcdf(tmp_path / "other.nc")
    with pytest.raises(ValueError, match="posterior"):
        cn.load(tmp_path / "other.nc")
