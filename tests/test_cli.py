"""The ``consistent-nets`` command line, run with tiny sizes in-process and as a subprocess."""

import json
import os
import subprocess
import sys

import pytest

from consistent_nets.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INFEASIBLE, EXIT_OK, main

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


def test_diagnose_fails_sgd_heuristic(runs, capsys):
    assert main(["diagnose", str(runs["sgd"]), "--json"]) == EXIT_FAILED
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is False and report["method"] == "sgd"
    assert report["checks"]["chord"]["passed"] is False  # draws pile up at the edge of S
    assert report["checks"]["membership"]["passed"] is True  # ... yet every draw fits the data
    assert report["log_volume"] is None  # SGD gives no volume


def test_sample_stores_what_rebuilds_the_problem(runs):
    import xarray as xr

    tree = xr.open_datatree(runs["smc"])
    assert tree.attrs["cli_dataset"] == "xor" and tree.attrs["cli_arch"] == "2-3-1"
    assert tree.attrs["cli_prior"] == "box:3" and tree.attrs["cli_constraint"] == "margin:0"
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
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    assert f"wrote {tmp_path / 'demo.png'}" in out


@pytest.mark.parametrize(
    "args",
    [
        ["sample", "--arch", "2-x-1", "--out", "x.nc"],
        ["sample", "--dataset", "mnist", "--out", "x.nc"],
        ["sample", "--num-samples", "0", "--out", "x.nc"],
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
    assert "--force" in capsys.readouterr().out


def test_empty_solution_set_exits_3(tmp_path, capsys):
    # XOR is not linearly separable: a network without a hidden layer has S empty
    out = tmp_path / "linear.nc"
    args = ["sample", "--arch", "2-1", "--method", "sgd", "--num-samples", "2", "--num-chains", "1", "--out", str(out)]
    assert main(args) == EXIT_INFEASIBLE
    err = capsys.readouterr().err
    assert err.startswith("consistent-nets: no solutions") and "log vol(S) <=" in err and err.count("\n") == 1
    assert not out.exists()


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
