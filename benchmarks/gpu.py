"""The ladder, a GPU-sized rung and the scaling studies on one accelerator, in one script.

Usage
-----
    python benchmarks/gpu.py --out DIR                      # everything, within --budget-s
    python benchmarks/gpu.py --out DIR --parts ladder digits10
    python benchmarks/gpu.py --tiny --out /tmp/bench        # tiny sizes on any backend (the harness test)

Parts, in this order, each writing ``gpu-<part>[-tiny].json`` to ``--out`` as soon as it
is done (a run cut short keeps what it finished):

* ``ladder``: ``smc`` with defaults on the ladder's rungs (xor, moons, digits,
  random-labels, teacher; 2000 draws in 4 populations, the ladder's keys): wall, compile
  and run time, gradient evaluations per second of run time (computed ones:
  ``num_grad_evals_executed``), distinct draws per second and effective draws
  (``attrs["ess"]``) per second.
* ``digits10``: the GPU-sized rung: ``cn.datasets.digits`` with all 10 classes,
  n = 1000, MLP [64, 64, 10] tanh (4810 weights), multiclass margin 0, same records.
* ``processes``: effective draws per second against 1, 2, 4 and 8 CPU processes of
  one pinned core each (``benchmarks/processes.py --concurrent``), on the host's cores.
* ``particles``: one population of 1e4, 1e5 and 1e6 particles on moons with
  ``batch_size=10_000``, and of 1e4 and 1e5 without (``benchmarks/memory.py --once``:
  the device allocator's peak, time; run with ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` so
  that this process leaves the device's memory to the child that measures).

Each part gets its share of what is left of ``--budget-s`` (``SHARES``), and every SMC
run a ``max_seconds`` from it (an incomplete run says so in its record), so that the
script ends inside a fixed lease.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

LADDER = ["xor", "moons", "digits", "random-labels", "teacher"]
PARTS = ["ladder", "digits10", "processes", "particles"]
#: share of --budget-s each part may use (a part that ends early leaves its time to the next)
SHARES = {"ladder": 0.45, "digits10": 0.2, "processes": 0.2, "particles": 0.15}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=None)
    parser.add_argument("--parts", nargs="+", default=PARTS, choices=PARTS)
    parser.add_argument("--rungs", nargs="+", default=LADDER, choices=LADDER)
    parser.add_argument("--budget-s", type=float, default=540.0, help="wall-clock budget of the whole script")
    parser.add_argument("--tiny", action="store_true")
    return parser.parse_args(argv)


def digits10():
    import consistent_nets as cn

    X, y = cn.datasets.digits(classes=tuple(range(10)), n=1000, seed=0)
    return cn.Problem(cn.MLP([64, 64, 10], activation="tanh"), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))


def run_smc(name, problem, seconds, tiny) -> dict:
    """One ``cn.sample(method="smc")`` with the ladder's key; the record of its speed."""
    import jax

    import consistent_nets as cn
    from harness import distinct_rows, flat_draws, measure
    from methods import method_key

    num_samples = 64 if tiny else 2000
    settings = dict(max_tree_depth=3, max_moves=2, final_moves=2) if tiny else {}
    sampler = cn.SMC(max_seconds=max(seconds, 1.0), **settings)
    record = {"rung": name, "num_params": problem.num_params, "num_data": problem.num_data,
              "num_samples": num_samples, "max_seconds": sampler.max_seconds}
    with warnings.catch_warnings(record=True) as caught, measure() as m:
        warnings.simplefilter("always")
        try:
            tree = cn.sample(problem, method=sampler, num_samples=num_samples, num_chains=4,
                             rng_key=method_key(0, "smc"), progress_bar=False)
        except cn.InfeasibleError as err:
            tree, record["status"] = None, f"no draws: {err}"
    record.update(m.as_dict())
    record["warnings"] = [str(w.message)[:300] for w in caught if issubclass(w.category, RuntimeWarning)]
    if tree is None:
        return record
    a = tree.attrs
    distinct = distinct_rows(flat_draws(tree))
    run_s = max(m.run_s, 1e-9)
    record.update(
        status="ok" if int(a["complete"]) else f"incomplete ({a['stop_reason']})",
        log_volume=float(a["log_volume"]), log_volume_se=float(a["log_volume_se"]),
        num_stages=int(a["num_stages"]), ess=float(a["ess"]), ess_per_s=float(a["ess"]) / run_s,
        distinct=distinct, distinct_per_s=distinct / run_s,
        grad_evals=int(a["num_grad_evals"]), grad_evals_executed=int(a["num_grad_evals_executed"]),
        grad_evals_executed_per_s=int(a["num_grad_evals_executed"]) / run_s,
        device=str(jax.devices()[0].device_kind),
    )
    return record


def part_ladder(args, left) -> list[dict]:
    from rungs import get_rung

    records = []
    rungs = ["xor", "moons"] if args.tiny else args.rungs
    for i, name in enumerate(rungs):
        share = left() / (len(rungs) - i)  # what is left, shared among the rungs still to run
        record = run_smc(name, get_rung(name).build(), share - 30.0, args.tiny)  # ~30 s to compile
        records.append(record)
        _say(record)
    return records


def part_digits10(args, left) -> list[dict]:
    if args.tiny:
        import consistent_nets as cn

        X, y = cn.datasets.digits(classes=(0, 1, 2), n=30, seed=0)
        problem = cn.Problem(cn.MLP([64, 4, 3], activation="tanh"), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
    else:
        problem = digits10()
    record = run_smc("digits10", problem, left() - 40.0, args.tiny)
    _say(record)
    return [record]


def part_particles(args, left) -> list[dict]:
    sizes = ["64", "256"] if args.tiny else ["10000", "100000", "1000000"]
    batch = "32" if args.tiny else "10000"
    rung = "xor" if args.tiny else "moons"
    cmd = [sys.executable, str(Path(__file__).resolve().parent / "memory.py"), "--rung", rung, "--particles",
           *sizes, "--batch-size", batch, "--unbatched-max", sizes[1], "--once", "--out", str(_scratch(args)),
           "--timeout", str(max(left() / 2, 10.0))]
    return _child(cmd, _scratch(args) / f"memory-{rung}.json", left())


def part_processes(args, left) -> list[dict]:
    counts = ["1", "2"] if args.tiny else ["1", "2", "4", "8"]
    cmd = [sys.executable, str(Path(__file__).resolve().parent / "processes.py"), "--processes", *counts, "--pin",
           "--concurrent",
           "--out", str(_scratch(args)), "--timeout", str(max(left(), 10.0))] + ["--tiny"] * args.tiny
    name = "processes-tiny.json" if args.tiny else "processes.json"
    return _child(cmd, _scratch(args) / name, left())


def _child(cmd, result, seconds) -> list[dict]:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=max(seconds, 10.0))
        print(proc.stderr[-3000:], file=sys.stderr, flush=True)
    except subprocess.TimeoutExpired:
        return [{"status": "timeout", "command": " ".join(Path(c).name for c in cmd)}]
    if result.exists():
        return json.loads(result.read_text())["records"]
    return [{"status": "failed", "note": proc.stderr[-2000:]}]


def _scratch(args) -> Path:
    path = Path(args.out or "benchmarks/results") / "gpu-scratch"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _say(record) -> None:
    keys = ("rung", "status", "compile_s", "run_s", "ess_per_s", "distinct_per_s", "grad_evals_executed_per_s")
    print("  " + ", ".join(f"{k}={record.get(k)}" for k in keys), file=sys.stderr, flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()

    def left() -> float:
        return args.budget_s - (time.perf_counter() - start)

    from harness import machine_info, save_results

    meta = machine_info() | {"tiny": args.tiny, "budget_s": args.budget_s}
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
        meta["gpu"] = smi.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        meta["gpu"] = None
    runners = {"ladder": part_ladder, "digits10": part_digits10, "particles": part_particles,
               "processes": part_processes}
    for part in args.parts:
        if left() < 20:
            print(f"[gpu] no time left for {part}", file=sys.stderr)
            continue
        print(f"[gpu] {part} ({left():.0f} s left)", file=sys.stderr, flush=True)
        part_start = time.perf_counter()
        rest = sum(SHARES[p] for p in args.parts[args.parts.index(part):])
        until = part_start + left() * SHARES[part] / rest

        def part_left(until=until) -> float:
            return min(left(), until - time.perf_counter())

        records = runners[part](args, part_left)
        save_results(args.out, f"gpu-{part}", f"gpu-{part}", meta | {"part_wall_s": time.perf_counter() - part_start},
                     records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
