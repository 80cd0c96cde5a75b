"""The ``consistent-nets`` command line, run with tiny sizes in-process and as a subprocess."""

import json
import os
import re
import subprocess
import sys

import pytest

from consistent_nets.cli import EXIT_BAD_INPUT, EXIT_BROKEN_PIPE, EXIT_FAILED, EXIT_INFEASIBLE, EXIT_OK, main

#: draws per run: the same size in every test, so compiled programs are shared via the cache
N = "400"


def run_cli(*args, timeout=300):
    """The CLI as a user runs it: a fresh interpreter (inherits the tests' XLA flags and cache)."""
    return subprocess.run(
        [sys.executable, "-m", "consistent_nets.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "CI": "true"},
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """XOR sampled by the default method and by the SGD heuristic, written by `sample`."""
    out = tmp_path_factory.mktemp("runs")
    paths = {}
    for method in ("smc", "sgd"):
        paths[method] = out / f"{method}.nc"
        code = main(["sample", "--dataset", "xor", "--method", method, "--num-samples", N, "--out", str(paths[method])])
        assert code == EXIT_OK
    return paths


def test_diagnose_passes_smc_as_a_subprocess(runs):
    result = run_cli("diagnose", runs["smc"])
    assert result.returncode == EXIT_OK, result.stdout + result.stderr
    assert "PASSED" in result.stdout
    assert "Traceback" not in result.stderr
    # the volume with its interval, above the checks
    assert re.search(r"log vol\(S\) = -5\.\d{3} ± 0\.\d{3} \(95 % interval -\d\.\d{3} to -\d\.\d{3}, t with 3 dof\)",
                     result.stdout)


def test_a_reader_that_goes_away_gets_no_traceback(runs):
    """`consistent-nets diagnose run.nc | head`: the output's reader closed before the report was
    written. Exit 141 (a shell's status for a process killed by SIGPIPE), no traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line is written
    try:
        result = subprocess.run([sys.executable, "-m", "consistent_nets.cli", "diagnose", str(runs["sgd"])],
                                stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=300,
                                env={**os.environ, "CI": "true"})
    finally:
        os.close(write_end)
    assert result.returncode == EXIT_BROKEN_PIPE, result.stderr
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr


def test_diagnose_fails_sgd_heuristic(runs, capsys):
    assert main(["diagnose", str(runs["sgd"]), "--json"]) == EXIT_FAILED
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is False and report["method"] == "sgd"
    assert report["checks"]["chord"]["passed"] is False  # draws pile up at the edge of S
    assert report["checks"]["membership"]["passed"] is True  # ... yet every draw fits the data
    assert report["log_volume"] is None and report["log_volume_ci"] is None  # SGD gives no volume
    assert any("method='smc'" in a for a in report["advice"])  # and what to use instead


def test_diagnose_json_gives_the_volume_interval(runs, capsys):
    import consistent_nets as cn

    main(["diagnose", str(runs["smc"]), "--json"])
    report = json.loads(capsys.readouterr().out)
    tree, _ = cn.load(str(runs["smc"]))  # the file's attrs, read back from netCDF
    assert report["log_volume_ci"] == [tree.attrs["log_volume_ci_lower"], tree.attrs["log_volume_ci_upper"]]
    assert report["log_volume_ci"][0] < report["log_volume"] < report["log_volume_ci"][1]
    assert report["log_volume_ci_prob"] == 0.95


def test_sample_stores_what_rebuilds_the_problem(runs):
    import xarray as xr

    tree = xr.open_datatree(runs["smc"])
    assert tree.attrs["cli_dataset"] == "xor" and tree.attrs["cn_arch"] == "2-3-1"
    assert tree.attrs["cn_prior"] == "box:3" and tree.attrs["cn_constraint"] == "margin:0"
    assert tree["constant_data"]["X"].shape == (4, 2) and tree["observed_data"]["y"].shape == (4,)
    assert tree.attrs["method"] == "smc" and tree["sample_stats"]["in_set"].values.all()
    assert tree["posterior"]["w0"].shape == (4, 100, 2, 3)


def test_out_is_never_overwritten_without_force(tmp_path, capsys):
    out = tmp_path / "run.nc"
    out.write_text("precious")
    args = ["sample", "--method", "rejection", "--num-samples", "8", "--num-chains", "2", "--out", str(out)]
    assert main(args) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "--force" in err and err.count("\n") == 1
    assert out.read_text() == "precious"
    assert main([*args, "--force"]) == EXIT_OK
    assert out.stat().st_size > len("precious")
    assert main(["diagnose", str(out), "--reference", str(out)]) in (EXIT_OK, EXIT_FAILED)


def test_demo_writes_table_and_png(tmp_path, capsys):
    assert main(["demo", "--out-dir", str(tmp_path), "--num-samples", N]) == EXIT_OK
    out = capsys.readouterr().out
    lines = out.splitlines()
    smc = next(line for line in lines if line.startswith("smc "))
    sgd = next(line for line in lines if line.startswith("sgd "))
    assert "NOT uniform" not in smc and "NOT uniform" in sgd and "chord" in sgd
    assert any(line.startswith("smc: log vol(S) 95 % interval") for line in lines)  # sgd has no volume
    assert not any(line.startswith(("sgd: log vol(S)", "note on sgd's volume")) for line in lines)
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    assert f"wrote {tmp_path / 'demo.png'}" in out


def test_demo_table_says_inconclusive_not_failed():
    from consistent_nets.cli._demo import _table

    row = {"method": "smc", "draws_in_S": 400, "effective": 300.0, "log_volume": -5.2, "log_volume_se": 0.1, "distance": 0.1}
    table = _table(
        [
            {**row, "failed": [], "verdict": "passed", "inconclusive": "", "log_volume_ci": (-5.518, -4.882, 3)},
            {**row, "method": "sgd", "failed": ["chord"], "verdict": "failed", "inconclusive": ""},
            {**row, "method": "nuts", "failed": [], "verdict": "inconclusive",
             "inconclusive": "core checks did not run: chord (no probes)"},
        ]
    ).splitlines()
    assert table[2].endswith("uniform on S") and table[3].endswith("NOT uniform (failed: chord)")
    assert table[4].endswith("inconclusive (core checks did not run: chord (no probes))")
    # the interval under the table, for the rows that have one
    assert table[5:] == ["smc: log vol(S) 95 % interval -5.518 to -4.882 (Student t with 3 degrees of freedom, the SE's)"]


@pytest.mark.parametrize(
    "args",
    [
        ["sample", "--arch", "2-x-1", "--out", "x.nc"],
        ["sample", "--dataset", "mnist", "--out", "x.nc"],
        ["sample", "--num-samples", "0", "--out", "x.nc"],
        ["sample", "--num-samples", "201", "--out", "x.nc"],
        ["demo", "--num-samples", "10"],
        ["sample"],
        ["frobnicate"],
        [],
    ],
)
def test_bad_arguments_exit_2_before_any_work(args, capsys):
    assert main(args) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err


def test_bad_values_exit_2_with_one_line(tmp_path, capsys):
    not_a_run = tmp_path / "notes.nc"
    not_a_run.write_text("not netCDF")
    cases = [
        (["sample", "--prior", "box:wide", "--out", str(tmp_path / "a.nc")], "prior"),
        (["sample", "--out", str(tmp_path / "missing-dir" / "a.nc")], "--out"),
        (["diagnose", str(tmp_path / "nothing.nc")], "no such file"),
        (["diagnose", str(not_a_run)], "not a netCDF"),
    ]
    for args, word in cases:
        assert main(args) == EXIT_BAD_INPUT, args
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and word in err, err


def test_bad_arguments_as_a_subprocess_give_one_line_no_traceback():
    result = run_cli("sample", "--arch", "2-x-1", "--out", "x.nc")
    assert result.returncode == EXIT_BAD_INPUT
    assert result.stderr.count("\n") == 1 and "--arch" in result.stderr and "Traceback" not in result.stderr


def test_help_is_for_newcomers(capsys):
    assert main(["--help"]) == EXIT_OK
    text = capsys.readouterr().out
    for word in ("demo", "sample", "diagnose", "exit status", "uniform"):
        assert word in text
    assert main(["sample", "--help"]) == EXIT_OK
    text = capsys.readouterr().out
    assert "--force" in text and "--data" in text
    for fmt in (".npz", ".npy", ".csv", "label"):
        assert fmt in text


def test_empty_solution_set_exits_3(tmp_path, capsys):
    # XOR is not linearly separable: a network without a hidden layer has S empty
    out = tmp_path / "linear.nc"
    args = ["sample", "--arch", "2-1", "--method", "sgd", "--num-samples", "2", "--num-chains", "1", "--out", str(out)]
    assert main(args) == EXIT_INFEASIBLE
    err = capsys.readouterr().err
    assert err.startswith("consistent-nets: no solutions") and "log vol(S) <=" in err and err.count("\n") == 1
    assert not out.exists()


def _write_xor(tmp_path, fmt):
    import numpy as np

    import consistent_nets as cn

    X, y = cn.datasets.xor()
    if fmt == "npz":
        np.savez(tmp_path / "xor.npz", X=X, y=y)
        return [tmp_path / "xor.npz"]
    if fmt == "npy":
        np.save(tmp_path / "X.npy", X)
        np.save(tmp_path / "y.npy", y)
        return [tmp_path / "X.npy", tmp_path / "y.npy"]
    table = "\n".join(",".join(f"{v:g}" for v in (*x, label)) for x, label in zip(X, y))
    header = "x1,x2,label\n" if fmt == "csv-header" else ""
    (tmp_path / "xor.csv").write_text(header + table + "\n")
    return [tmp_path / "xor.csv"]


@pytest.mark.parametrize("fmt", ["npz", "npy", "csv", "csv-header"])
def test_sample_own_data(fmt, tmp_path):
    import numpy as np
    import xarray as xr

    import consistent_nets as cn

    files = _write_xor(tmp_path, fmt)
    out = tmp_path / "mine.nc"
    args = ["sample", "--data", *map(str, files), "--arch", "2-3-1", "--method", "rejection",
            "--num-samples", "8", "--num-chains", "2", "--out", str(out)]
    assert main(args) == EXIT_OK
    tree = xr.open_datatree(out)
    X, y = cn.datasets.xor()
    np.testing.assert_array_equal(tree["constant_data"]["X"].values, X)
    np.testing.assert_array_equal(tree["observed_data"]["y"].values, y)
    assert tree.attrs["cli_dataset"] == "file" and tree.attrs["cli_data"] == " ".join(f.name for f in files)


@pytest.mark.parametrize(
    "args,word",
    [
        (["--n", "10"], "--n does not apply to xor"),
        (["--dataset", "xor", "--n", "10"], "--n does not apply to xor"),
        (["--data", "DATA", "--n", "5"], "--n does not apply to --data"),
        (["--data", "DATA", "--data-seed", "1"], "--data-seed does not apply"),
        (["--data", "DATA", "--dataset", "moons"], "alternatives"),
        (["--data", "points.txt"], "--data takes"),
        (["--data", "X.npy"], "--data takes"),
        (["--dat", "DATA"], "unrecognized"),
        (["--data-s", "3"], "unrecognized"),
    ],
)
def test_options_that_do_not_apply_are_refused(args, word, tmp_path, capsys):
    (data,) = _write_xor(tmp_path, "npz")
    args = [str(data) if a == "DATA" else a for a in args]
    assert main(["sample", *args, "--out", str(tmp_path / "x.nc")]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and word in err, err
    assert not (tmp_path / "x.nc").exists()


def test_sample_data_errors_name_the_file(tmp_path, capsys):
    import numpy as np

    np.savez(tmp_path / "bad.npz", inputs=np.zeros((4, 2)))
    (tmp_path / "ragged.csv").write_text("1,2,1\n3,1\n")
    for name, word in (("bad.npz", "lacks the arrays ['X', 'y']"), ("ragged.csv", "same number"), ("none.csv", "no such file")):
        assert main(["sample", "--data", str(tmp_path / name), "--out", str(tmp_path / "x.nc")]) == EXIT_BAD_INPUT
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and word in err and "--data" in err, err


def test_diagnose_a_tree_saved_from_python(tmp_path, capsys):
    """Any tree: a Problem's is rebuilt from its spec and data; a model's gets an honest
    inconclusive verdict that says why."""
    import jax

    import consistent_nets as cn
    from conftest import scaled_model

    X, y = cn.datasets.xor()
    problem = cn.Problem(cn.MLP([2, 3, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
    tree = cn.sample(problem, method="rejection", num_samples=int(N), rng_key=jax.random.key(2), progress_bar=False)
    tree.to_netcdf(tmp_path / "python.nc")
    assert main(["diagnose", str(tmp_path / "python.nc"), "--json"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "passed" and report["checks"]["chord"]["passed"] is True
    assert report["advice"] == []

    model_tree = cn.sample(scaled_model, X, y, method="rejection", num_samples=40, rng_key=jax.random.key(2),
                           progress_bar=False)
    model_tree.to_netcdf(tmp_path / "model.nc")
    assert main(["diagnose", str(tmp_path / "model.nc")]) == EXIT_FAILED
    captured = capsys.readouterr()
    assert "INCONCLUSIVE" in captured.out and "hand-written NumPyro model (scaled_model)" in captured.err


def test_diagnose_reads_runs_written_before_trees_carried_their_data(runs, tmp_path, capsys):
    import xarray as xr

    with xr.open_datatree(runs["sgd"]) as opened:
        old = opened.load()
    for group in ("constant_data", "observed_data"):
        del old[group]
    for key in [k for k in old.attrs if k.startswith("cn_")]:
        del old.attrs[key]
    old.attrs.update(cli_arch="2-3-1", cli_activation="tanh", cli_prior="box:3", cli_constraint="margin:0",
                     cli_n=-1, cli_data_seed=0)
    old.to_netcdf(tmp_path / "old.nc")
    assert main(["diagnose", str(tmp_path / "old.nc"), "--json"]) == EXIT_FAILED
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "failed" and report["checks"]["chord"]["passed"] is False


def test_help_and_argument_errors_do_not_import_jax(tmp_path):
    """Every argument check runs before JAX is imported (``sys.modules`` in a fresh interpreter)."""
    existing = tmp_path / "run.nc"
    existing.write_text("")
    cases = [
        ["--help"],
        ["sample", "--help"],
        ["sample", "--arch", "2-x-1", "--out", "x.nc"],
        ["sample", "--prior", "box:-1", "--out", "x.nc"],
        ["sample", "--constraint", "tube:0", "--out", "x.nc"],
        ["sample", "--dataset", "xor", "--arch", "3-1", "--out", str(tmp_path / "x.nc")],
        ["sample", "--out", str(existing)],
        ["sample", "--out", str(tmp_path / "missing-dir" / "x.nc")],
        ["diagnose", str(tmp_path / "nothing.nc")],
        ["demo", "--out-dir", str(existing)],
        ["frobnicate"],
    ]
    code = (
        "import json, sys\n"
        "from consistent_nets.cli import main\n"
        f"codes = [main(args) for args in {cases!r}]\n"
        "print(json.dumps({'codes': codes, 'jax': 'jax' in sys.modules}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["jax"] is False, "an argument check imported JAX"
    assert out["codes"] == [EXIT_OK, EXIT_OK] + [EXIT_BAD_INPUT] * (len(cases) - 2)
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == len(cases) - 2 and "Traceback" not in result.stderr


def test_sample_prints_the_volume_note(tmp_path, capsys):
    # 8 particles per population: their log-volume estimates spread far more than 0.25 nats
    out = tmp_path / "small.nc"
    assert main(["sample", "--dataset", "xor", "--num-samples", "32", "--out", str(out)]) == EXIT_OK
    printed = capsys.readouterr().out
    import consistent_nets as cn

    tree, _ = cn.load(str(out))
    assert tree.attrs["log_volume_population_sd"] > 0.25
    assert f"note on the volume: {tree.attrs['log_volume_note']}" in printed
    lower, upper = tree.attrs["log_volume_ci_lower"], tree.attrs["log_volume_ci_upper"]
    assert f"(95 % interval {lower:.3f} to {upper:.3f}, t with 3 dof)" in printed
    if "log_volume_low_populations" in tree.attrs:  # a population far below the rest: named (seen on some CPUs)
        assert "below the median" in printed
    else:  # the spread alone: twice the particles advised
        assert "num_particles=16" in printed and "num_samples doubled" in printed
