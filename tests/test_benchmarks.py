"""The benchmark scripts run end to end in ``--tiny`` mode (subprocesses, as a user runs them).

Tiny mode checks the harness (exit status, a well-formed JSON record per method, the
tables and figures), not numbers. The subprocesses compile with XLA's cheap CPU
optimisation level: it changes compile time only, and these runs time nothing that
matters. Compilation dominates (the library's population samplers take about a minute
to compile on two loaded cores, each BlackJAX peer several seconds), so the default test
runs the rejection and tuned-BlackJAX rows of the ladder (SGD runs in the scaling
script); ``-m slow`` runs every method, ``cn.diagnose`` included. The default tests'
scripts are background jobs (``background.py``): they start when collection ends and run
beside the in-process tests; each test here waits for its script and checks what it wrote.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import background
from background import done

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
FAST_XLA = (
    "--xla_force_host_platform_device_count=2 --xla_backend_optimization_level=0 "
    "--xla_llvm_disable_expensive_passes=true"
)
ENV = dict(XLA_FLAGS=FAST_XLA, MPLBACKEND="Agg", CI="true")


def start_script(name, *args):
    return subprocess.Popen(
        [sys.executable, str(BENCH / name), *map(str, args)],
        cwd=ROOT,
        env=dict(os.environ, **ENV),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(name, proc, timeout=300):
    _, stderr = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"{name} exited {proc.returncode}:\n{stderr[-4000:]}"


def run_script(name, *args, timeout=300):
    finish(name, start_script(name, *args), timeout)


def job(name, script, *args, timeout=600):
    """A background job running ``script`` with ``args`` ("{out}": the job's folder)."""
    return background.register(name, sys.executable, BENCH / script, *args, timeout=timeout, **ENV)


LADDER = job("ladder-tiny", "ladder.py", "--tiny", "--rung", "xor", "--no-diagnose",
             "--methods", "rejection", "blackjax-tuned", "--out", "{out}")
SCALING = job("scaling-tiny", "scaling.py", "--tiny", "--out", "{out}")
CALIBRATION = job("calibration-tiny", "calibration.py", "--tiny", "--methods", "rejection", "sgd",
                  "--out", "{out}", "--figures", "{out}")
NESTED = job("nested-tiny", "ladder.py", "--tiny", "--rung", "xor", "--no-diagnose", "--methods", "nested",
             "--out", "{out}")
RATES = job("diagnostics-rates-tiny", "diagnostics_rates.py", "--tiny", "--reference", "--out", "{out}")
NUTS_OVERHEAD = job("nuts-overhead-tiny", "nuts_overhead.py", "--tiny", "--out", "{out}")
TRUST_KINDS = {
    "effective_draws.py": "effective-draws",
    "reference_power.py": "reference-power",
    "volume_bias.py": "volume-bias",
    "default_pipeline.py": "default-pipeline",
    "bounds.py": "bounds",
    "smc_variants.py": "smc-variants",
    "prior_edge.py": "prior-edge",
    "ess_noise.py": "ess-noise",
    "volume_coverage.py": "volume-coverage",
}
#: run with -m slow only (the suite's time on two cores): the variants' one-off comparison
SLOW_TRUST = {"smc_variants.py"}
#: effective_draws.py keeps its runs (``--cache``): test_effective_draws_cache_resumes reruns it
TRUST = {
    script: job(f"{kind}-tiny", script, "--tiny", "--out", "{out}",
                *(("--cache", "{out}/cache") if kind == "effective-draws" else ()))
    for script, kind in TRUST_KINDS.items()
}
FINAL_PHASE = job("final-phase-tiny", "final_phase.py", "--tiny", "--out", "{out}")
#: -m slow only, as the other one-off measurements' harnesses
VOLUME_ADAPTATION = job("volume-adaptation-tiny", "volume_adaptation.py", "--tiny", "--variant", "bhmn",
                        "--out", "{out}")
LATENCY = job("latency-tiny", "latency.py", "--tiny", "--out", "{out}")
#: -m slow only: a prototype's one-off comparison, smc_variants.py's harness with another sampler
IN_SET_KERNEL = job("in-set-kernel-tiny", "in_set_kernel.py", "--tiny", "--out", "{out}")
#: -m slow only: another prototype on the same harness (a dense inverse mass)
DENSE_MASS = job("dense-mass-tiny", "dense_mass.py", "--tiny", "--shrink", "0.2", "--out", "{out}")
#: -m slow only: a third prototype on the same harness (fewer moves once the moves stall)
STALLED_MOVES = job("stalled-moves-tiny", "stalled_moves.py", "--tiny", "--out", "{out}")


def load(path):
    data = json.loads(Path(path).read_text())
    assert set(data) >= {"kind", "meta", "records"}
    for key in ("date", "cpu", "cpu_count", "jax", "jax_devices", "command", "tiny"):
        assert key in data["meta"], key
    assert data["meta"]["tiny"] is True
    # no path of the machine that ran it (the tests pass absolute --out folders)
    assert not any(os.path.isabs(a) for a in data["meta"]["command"].split()), data["meta"]["command"]
    return data


def check_ladder_record(r):
    assert r["status"] in {"ok", "incomplete", "skipped", "no-draws"}, r
    if r["status"] == "skipped":
        assert r["note"]
        return
    for key in ("wall_s", "compile_s", "run_s"):
        assert isinstance(r[key], float) and r[key] >= 0.0, (key, r[key])
    assert isinstance(r["peak_rss_mb"], float)  # RSS may shrink: growth can be negative
    # the peers split their own time (ahead-of-time compile, run), leaving set-up out
    peer = r["method"].startswith("blackjax") or r["method"] == "nested"
    assert r["compile_s"] + r["run_s"] == pytest.approx(r["wall_s"], rel=0.05) or peer
    assert r["draws_in_set"] >= r["distinct_in_set"] >= 1
    assert r["distinct_per_s"] > 0


@pytest.mark.background(LADDER)
def test_ladder_tiny_writes_one_record_per_method():
    data = load(done(LADDER) / "ladder-xor-tiny.json")
    assert data["kind"] == "ladder" and data["meta"]["rung"] == "xor"
    records = {r["method"]: r for r in data["records"]}
    assert set(records) == {"rejection", "blackjax-tuned"}
    for r in records.values():
        check_ladder_record(r)
        assert -12.0 < r["log_volume"] < -2.0
        assert r["log_volume_error"] == pytest.approx(r["log_volume"] + 5.191)
    assert records["rejection"]["grad_evals"] == 0.0 and records["rejection"]["forward_evals"] > 0
    tuned = records["blackjax-tuned"]
    assert tuned["grad_evals"] > 0 and tuned["settings"]["tuned"] is True
    assert tuned["extra"]["num_runs"] == 2 and len(tuned["extra"]["log_volume_per_run"]) == 2


@pytest.mark.background(SCALING)
def test_scaling_tiny_covers_every_axis():
    data = load(done(SCALING) / "scaling-tiny.json")
    axes = {r["axis"] for r in data["records"]}
    assert axes == {"n", "width", "devices"}
    devices = {r["devices"]: r for r in data["records"] if r["axis"] == "devices"}
    assert devices[1]["jax_devices"] == 1 and devices[2]["jax_devices"] == 2
    assert devices[2]["speedup"] > 0
    for r in data["records"]:
        assert r["status"] == "ok", r
        assert r["run_s"] > 0 and r["grad_evals"] > 0


@pytest.mark.background(LADDER)
@pytest.mark.background(SCALING)
def test_table_and_plots_render_the_tiny_results(tmp_path):
    bench_dir = tmp_path  # the two scripts' results side by side
    for name in (LADDER, SCALING):
        for path in done(name).glob("*.json"):
            (bench_dir / path.name).write_bytes(path.read_bytes())
    run_script("table.py", "--tiny", "--results", bench_dir, "--out", bench_dir)
    text = (bench_dir / "tables.md").read_text()
    assert "### Rung `xor` (tiny)" in text and "| blackjax-tuned |" in text and "| rejection |" in text
    assert "cost vs n" in text and "speed-up" in text
    run_script("plots.py", "--tiny", "--results", bench_dir, "--out", bench_dir / "figures")
    for name in ("cost_vs_n.png", "cost_vs_width.png", "distinct_per_second.png"):
        png = (bench_dir / "figures" / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_ladder_tiny_every_method_with_diagnose(tmp_path):
    run_script("ladder.py", "--tiny", "--rung", "xor", "--out", tmp_path, timeout=900)
    data = load(tmp_path / "ladder-xor-tiny.json")
    methods = {r["method"] for r in data["records"]}
    assert methods == {"rejection", "sgd", "anneal", "smc", "smc-hmc", "smc-rhmc", "blackjax-fixed", "blackjax-tuned",
                       "nested"}
    for r in data["records"]:
        check_ladder_record(r)
        if r["status"] != "skipped":
            assert "distance" in r or "diagnose_note" in r
    fixed = next(r for r in data["records"] if r["method"] == "blackjax-fixed")
    assert fixed["settings"]["step_size"] == 0.05 and fixed["log_volume"] is not None


@pytest.mark.background(CALIBRATION)
def test_calibration_tiny_writes_ranks_and_figures():
    out = done(CALIBRATION)
    data = load(out / "calibration-tiny.json")
    assert data["kind"] == "calibration"
    records = {r["method"]: r for r in data["records"]}
    assert set(records) == {"rejection", "sgd"}
    for r in records.values():
        assert r["num_teachers"] == 10 and r["num_ranks"] == 10
        assert set(r["ranks"]) == {"depth", "norm", "probe"}
        assert all(0 <= k < r["num_ranks"] for ranks in r["ranks"].values() for k in ranks)
        assert 0.0 <= r["p_value"] <= 1.0 and isinstance(r["passed"], bool)
        png = (out / f"rank_histograms_{r['method']}-tiny.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow  # a peer's harness, not a library path (the suite's time on two cores)
@pytest.mark.background(NESTED)
def test_nested_sampling_peer_tiny():
    (r,) = load(done(NESTED) / "ladder-xor-tiny.json")["records"]
    assert r["method"] == "nested" and r["status"] == "ok", r
    check_ladder_record(r)
    assert r["grad_evals"] == 0.0 and r["forward_evals"] > 0
    assert r["extra"]["num_runs"] == 2 and all(s > 0 for s in r["extra"]["steps_per_run"])
    # tiny sizes check the harness, not accuracy: a generous band around the exact -5.191
    assert abs(r["log_volume"] + 5.191) < 5 * r["log_volume_se"] + 0.5


@pytest.mark.background(RATES)
def test_diagnostics_rates_tiny():
    data = load(done(RATES) / "diagnostics-rates-tiny.json")
    assert data["kind"] == "diagnostics-rates"
    rows = data["records"]
    # 3 seeds x {rejection, sgd} x {no reference, rejection reference}
    assert len(rows) == 12
    assert {(r["method"], r["mode"]) for r in rows} == {(m, k) for m in ("rejection", "sgd") for k in ("none", "reference")}
    summary = data["meta"]["summary"]
    for mode in ("none", "reference"):
        s = summary[mode]
        assert 0.0 <= s["false_alarm_rate"] <= 1.0 and 0.0 <= s["miss_rate"] <= 1.0
        # the folk heuristic is further from uniform than exact draws, even at 300 draws
        assert s["median_distance_sgd"] > 2 * s["median_distance_rejection"]


@pytest.mark.slow  # a one-off measurement's harness (the suite's time on two cores)
@pytest.mark.background(NUTS_OVERHEAD)
def test_nuts_overhead_tiny():
    data = load(done(NUTS_OVERHEAD) / "nuts-overhead-tiny.json")
    assert data["kind"] == "nuts-overhead"
    nuts, hmc = data["records"]
    assert nuts["kernel"].startswith("nuts") and hmc["kernel"].startswith("hmc")
    # plain HMC runs its fixed length; NUTS computes as many steps as its longest tree
    assert hmc["mean_steps_used"] == hmc["steps_computed"] == 63
    assert 1 <= nuts["mean_steps_used"] <= nuts["steps_computed"] <= 63
    assert all(r["seconds_per_move"] > 0 for r in data["records"])


@pytest.mark.parametrize(
    "script, kind",
    [pytest.param(script, kind, id=f"{script}-{kind}", marks=[pytest.mark.background(TRUST[script])]
                  + ([pytest.mark.slow] if script in SLOW_TRUST else []))
     for script, kind in TRUST_KINDS.items()],
)
def test_trust_scripts_tiny(script, kind):
    """The scripts behind BENCHMARKS.md's effective-draws, power, bias and pass-rate tables."""
    (path,) = done(TRUST[script]).glob("*.json")
    data = load(path)
    assert data["kind"] == kind and data["records"]
    if kind == "smc-variants":  # both counts of effective draws and each population's volume
        assert all(r["ess"] > 0 and r["ess_arviz"] > 0 for r in data["records"])
        for r in data["records"]:
            per_population = np.asarray(r["log_volume_per_population"])
            assert per_population.shape == (4,) and np.all(np.isfinite(per_population))
            assert np.log(np.mean(np.exp(per_population))) == pytest.approx(r["log_volume"], abs=1e-9)
            # each check's numbers, and the failing ones are those that did not pass
            assert {"rhat", "populations", "chord"} <= set(r["checks"])
            assert r["failing"] == [n for n, c in r["checks"].items() if c["passed"] is False]
            assert all(set(c) == {"statistic", "p_value", "threshold", "passed"} for c in r["checks"].values())
            assert r["checks"]["ess"]["threshold"] == min(400, r["rows"] / 4)
    if kind == "ess-noise":  # exact draws as agreeing populations: at most 10 % over the truth, inflation never below 1
        assert {(r["num_chains"], r["copies"]) for r in data["records"]} == {(2, 1), (4, 1), (2, 2), (4, 2)}
        for r in data["records"]:
            assert r["true_ess"] == r["num_samples"] // r["copies"] and len(r["ess"]) == r["replicates"] == 3
            assert min(r["inflation"]) >= 1.0 and 1.0 <= max(r["ess"]) <= 1.1 * r["true_ess"]
            assert r["ess_quantiles_5_25_50_75_95"] == sorted(r["ess_quantiles_5_25_50_75_95"])
            assert 0.0 <= r["fraction_under_threshold"] <= 1.0 and r["threshold"] == min(400, r["num_samples"] / 4)
    if kind == "prior-edge":  # per population, before and after each stage; the draws before the fix
        (r,) = data["records"]
        assert data["meta"]["draws"] == "old" and len(r["non_finite"]) == len(r["acceptance"]) + 1 == 2
        assert all(len(v) == 4 for v in r["non_finite"]) and all(len(v) == 4 for v in r["num_ancestors"])
    if kind == "volume-coverage":  # each run's interval is its t interval; the counts are of those runs
        (r,) = data["records"]
        runs, summary = r["runs"], r["summary"]
        assert len(runs) == summary["keys"] == 3 and data["meta"]["rejection_accepted"] == 200
        for run in runs:
            half = stats.t.ppf(0.975, run["log_volume_se_dof"]) * run["log_volume_se"]
            assert run["log_volume_se_dof"] == 3
            assert run["log_volume_interval"] == pytest.approx([run["log_volume"] - half, run["log_volume"] + half])
        z = np.array([run["z"] for run in runs])
        assert summary["within_2_se"]["count"] == int(np.sum(np.abs(z) < 2))
        assert summary["within_1_se"]["count"] <= summary["within_2_se"]["count"] <= summary["within_interval95"]["count"]
    if kind == "volume-bias":  # each population's path through its stages (and its moves), ending where its estimate is
        for r in data["records"]:
            assert r["smc_settings"] == {} and len(r["stages"]) == r["populations"]
            for path, log_z in zip(r["stages"], r["log_volume_per_population"]):
                assert len(path["beta"]) == len(path["fraction_in_set"]) == len(path["log_z"]) >= 1
                assert {len(path[k]) for k in ("step_size", "acceptance", "num_moves", "jump")} == {len(path["beta"])}
                assert min(path["num_moves"]) >= 2 and min(path["step_size"]) > 0
                assert np.all(np.diff(path["beta"]) > 0) and path["log_z"][-1] >= log_z - 1e-9


@pytest.mark.slow
@pytest.mark.background(IN_SET_KERNEL)
def test_in_set_kernel_tiny_runs_the_prototype():
    """The prototype behind BENCHMARKS.md's "After S: more moves…" rows: smc_variants.py's
    records, from the prototype's sampler (it says how many stages moved with the other kernel)."""
    result = background.result(IN_SET_KERNEL).check(IN_SET_KERNEL)
    (path,) = result.out.glob("*.json")
    data = load(path)
    assert data["kind"] == "smc-variants" and data["records"]
    assert data["meta"]["command"].startswith("python benchmarks/in_set_kernel.py")
    assert "stages moved with" in result.stderr


@pytest.mark.slow
@pytest.mark.background(DENSE_MASS)
def test_dense_mass_tiny_runs_the_prototype():
    """The prototype behind BENCHMARKS.md's dense-mass row: smc_variants.py's records, its
    own command (with the shrinkage it ran at) and every variant's run with the dense mass."""
    result = background.result(DENSE_MASS).check(DENSE_MASS)
    (path,) = result.out.glob("*.json")
    data = load(path)
    assert data["kind"] == "smc-variants" and len(data["records"]) == 2
    assert data["meta"]["command"].startswith("python benchmarks/dense_mass.py --tiny --shrink 0.2")
    assert "dense inverse mass, shrink 0.2" in result.stderr
    assert all(r["ess"] > 0 and np.isfinite(r["log_volume"]) for r in data["records"])


@pytest.mark.slow
@pytest.mark.background(STALLED_MOVES)
def test_stalled_moves_tiny_runs_the_prototype():
    """The prototype behind BENCHMARKS.md's "Fewer moves a stage once the moves stall": its
    tiny variant stalls every population at once, so the cap must apply to some stages."""
    result = background.result(STALLED_MOVES).check(STALLED_MOVES)
    (path,) = result.out.glob("*.json")
    data = load(path)
    assert data["kind"] == "smc-variants" and data["records"]
    assert data["meta"]["command"].startswith("python benchmarks/stalled_moves.py --tiny")
    capped = re.search(r"(\d+) population-stages of (\d+) moved at most 2 times \(their most: (\d+)\)", result.stderr)
    assert capped and 0 < int(capped[1]) <= int(capped[2]), result.stderr
    assert int(capped[3]) == 2, result.stderr  # the capped stages ran 2 moves (4 without the cap)


@pytest.mark.parametrize(
    ("script", "flag"),
    [("default_pipeline.py", "--smc"), ("smc_variants.py", "--variant"), ("volume_bias.py", "--smc")],
)
def test_smc_options_are_checked_before_anything_runs(script, flag):
    """A misspelt or out-of-range ``cn.SMC`` option is a usage error naming it, not a traceback
    after the first keys have run."""
    value = '{"jump_target": -1}' if flag == "--smc" else 'bad={"jump_target": -1}'
    proc = start_script(script, flag, value, "--out", os.devnull)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr[-2000:]
    assert f"argument {flag}" in stderr and "jump_target must be a finite number > 0" in stderr
    assert "Traceback" not in stderr


@pytest.mark.background(FINAL_PHASE)
def test_final_phase_tiny_replays_the_run():
    """A replay at factor 1 is the library's own final phase again (same tempering, same
    keys): what the other factors are compared with is the run itself."""
    own, replay, softer, sliced, rhmc = load(done(FINAL_PHASE) / "final-phase-xor-tiny.json")["records"]
    for name in ("ess", "final_jump", "final_num_refused", "final_grad_evals", "log_volume"):
        assert replay[name] == own[name], name
    assert softer["factor"] == 0.1 and softer["log_volume"] == own["log_volume"]  # fixed before the final phase
    assert softer["final_jump"] != own["final_jump"]
    # the slice moves: their own kernel, the same volume, copies moved apart, every draw in S
    assert own["kernel"] in {"nuts", "hmc"} and (sliced["kernel"], sliced["slice_moves"]) == ("slice", 4)  # "auto"'s choice
    assert sliced["log_volume"] == own["log_volume"] and min(sliced["final_jump"]) > 0
    assert sliced["all_in_set"] and own["all_in_set"]
    # another library kernel in the final phase: the volume kept, at most its moves, all in S
    assert (rhmc["kernel"], rhmc["kernel_moves"]) == ("rhmc", 4) and rhmc["log_volume"] == own["log_volume"]
    assert rhmc["all_in_set"] and min(rhmc["final_jump"]) > 0 and rhmc["final_jump"] != own["final_jump"]


@pytest.mark.slow
@pytest.mark.background(VOLUME_ADAPTATION)
def test_volume_adaptation_tiny_follows_the_pilot_path():
    """With every adaptation replaced, each population walks the pilot's betas: as many
    stages as the pilot, whatever the key."""
    data = load(done(VOLUME_ADAPTATION) / "volume-adaptation-xor-bhmn-tiny.json")
    assert data["kind"] == "volume-adaptation" and len(data["records"]) == 2
    pilot = data["meta"]["pilot"]
    assert len(pilot["beta"]) == len(pilot["step_size"]) == len(pilot["moves"]) >= 1
    for r in data["records"]:
        assert r["variant"] == "bhmn" and r["num_stages"] == len(pilot["beta"])
        assert len(r["log_volume_per_population"]) == 4 and np.all(np.isfinite(r["log_volume_per_population"]))
    assert data["records"][0]["log_volume"] != data["records"][1]["log_volume"]  # other keys, other draws


@pytest.mark.background(TRUST["effective_draws.py"])
def test_effective_draws_cache_resumes(tmp_path):
    """``--cache`` keeps every finished run; a rerun reads them instead of sampling again."""
    first = done(TRUST["effective_draws.py"])  # the trust job ran with --cache {out}/cache
    cache = first / "cache"
    assert len(list(cache.glob("*.pkl"))) == 3  # --tiny: three runs
    for f in cache.glob("*.pkl"):  # a rerun that sampled again would overwrite these
        os.utime(f, (0, 0))
    run_script("effective_draws.py", "--tiny", "--cache", cache, "--out", tmp_path, timeout=600)
    assert all(f.stat().st_mtime == 0 for f in cache.glob("*.pkl"))
    (before,), (after,) = (list(d.glob("*.json")) for d in (first, tmp_path))
    assert load(before)["records"] == load(after)["records"]


@pytest.mark.background(LATENCY)
def test_latency_tiny():
    data = load(done(LATENCY) / "latency-tiny.json")
    assert data["kind"] == "latency"
    records = {r["case"]: r for r in data["records"]}
    assert set(records) == {"python", "import", "help", "bad-arg", "infeasible-linear-smc"}
    for r in records.values():
        assert r["status"] == "ok", r
        assert r["wall_s"] > 0 and r["source"] == "this"
    assert records["import"]["backend_initialised"] is False and records["import"]["heavy_modules"] == []
    assert records["help"]["jax_imported"] is False and records["bad-arg"]["rc"] == 2
    infeasible = records["infeasible-linear-smc"]
    assert infeasible["raised"] and "hidden layer" in infeasible["message"] and infeasible["bound"] < 0
    assert "this/import/cold" in data["meta"]["summary"]


@pytest.mark.slow
def test_xla_options_tiny(tmp_path):
    run_script("xla_options.py", "--tiny", "--out", tmp_path)
    data = load(tmp_path / "xla-options-tiny.json")
    assert {r["variant"] for r in data["records"]} == {"default", "level1", "level0"}
    assert all(r["seconds"] > 0 and r["moves"] >= 1 for r in data["records"])


@pytest.mark.slow
def test_gpu_script_tiny_on_cpu(tmp_path):
    """``gpu.py --tiny`` runs every part on any backend (here two CPU devices).

    It also runs ``processes.py`` (1 and 2 ``jax.distributed`` processes) and
    ``memory.py`` as children; several minutes on two loaded cores, mostly compiling.
    """
    run_script("gpu.py", "--tiny", "--out", tmp_path, "--budget-s", "1500", timeout=1800)
    ladder = load(tmp_path / "gpu-ladder-tiny.json")["records"]
    assert [r["rung"] for r in ladder] == ["xor", "moons"]
    assert all(r["ess_per_s"] > 0 and r["grad_evals_executed_per_s"] > 0 for r in ladder)
    assert load(tmp_path / "gpu-digits10-tiny.json")["records"][0]["rung"] == "digits10"
    processes = load(tmp_path / "gpu-processes-tiny.json")["records"]
    two = [r for r in processes if r.get("processes") == 2]
    assert len(two) == 2 and two[0]["posterior_sha256"] == two[1]["posterior_sha256"]
    assert two[0]["bytes_gathered"] > 0
    memory = load(tmp_path / "gpu-particles-tiny.json")["records"]
    assert {r["num_particles"] for r in memory} == {64, 256}


@pytest.mark.slow
def test_split_particles_tiny(tmp_path):
    run_script("split_particles.py", "--tiny", "--out", tmp_path)
    records = load(tmp_path / "split-particles-tiny.json")["records"]
    memory = [r for r in records if r["kind"] == "memory"]
    assert {(r["num_particles"], r["split"]) for r in memory} == {(n, s) for n in (64, 256) for s in (False, True)}
    assert all(r["peak_mb"] > 0 and set(r["programs"]) == {"init", "reweight", "mutate", "update"} for r in memory)
    timed = [r for r in records if r["kind"] == "time"]
    assert [r["split"] for r in timed] == [False, True] and all(r["second_call_s"] > 0 for r in timed)


@pytest.mark.slow
def test_populations_power_tiny(tmp_path):
    run_script("populations_power.py", "--tiny", "--out", tmp_path)
    records = load(tmp_path / "populations-power-xor-tiny.json")["records"]
    assert [r["method"] for r in records] == ["anneal", "smc"]
    assert all(r["populations_passed"] in (True, False, None) and r["seconds"] > 0 for r in records)


@pytest.mark.slow
def test_populations_power_drop_tiny(tmp_path):
    """The mode-dropping sampler: population 0 re-sampled on S minus a region of about q."""
    run_script("populations_power.py", "--tiny", "--drop", "0.2", "--out", tmp_path)
    records = load(tmp_path / "populations-power-xor-drop-tiny.json")["records"]
    assert [r["method"] for r in records] == ["smc", "smc-drop"]
    assert records[0]["q_removed"] == 0.0 and abs(records[1]["q_removed"] - 0.2) < 0.05, records


def test_results_record_the_start_and_the_end(tmp_path, monkeypatch):
    # a script that builds its meta after its runs must still record the load and the
    # commit it started with, and the load it ended with
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import harness

    started = harness.machine_info()
    monkeypatch.setattr(harness.os, "getloadavg", lambda: (99.0, 98.0, 97.0))
    meta = harness.machine_info()
    assert meta["date"] == started["date"] and meta["git_commit"] == started["git_commit"]
    assert meta["load_avg_start"] == started["load_avg_start"] != [99.0, 98.0, 97.0]
    written = json.loads(harness.write_results(tmp_path / "r.json", "k", meta, []).read_text())
    assert written["meta"]["load_avg_end"] == [99.0, 98.0, 97.0]
    assert written["meta"]["load_avg_start"] == started["load_avg_start"]
