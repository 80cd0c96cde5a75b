"""Cost against problem size: data points, hidden width, and 1 vs 2 devices.

Usage
-----
    python benchmarks/scaling.py                           # all three axes, default methods
    python benchmarks/scaling.py --axis n --methods smc blackjax-tuned
    python benchmarks/scaling.py --tiny --out /tmp/bench   # the harness test

Axes
----
* ``n``: moons (MLP [2, 16, 16, 1]) and digits 3 vs 5 (MLP [64, 16, 1]) at
  n = 32, 64, 128, 256 data points.
* ``width``: moons n = 100 with MLP [2, h, h, 1] and digits n = 128 with MLP [64, h, 1],
  h = 8, 16, 32, 64.
* ``devices``: moons n = 100, MLP [2, 16, 16, 1], each method run in a fresh subprocess
  with ``--xla_force_host_platform_device_count`` 1 and then 2; the speed-up is the
  ratio of run times (compile excluded). Only a method that places its chains on
  several devices can gain (the library's ``smc`` does; the peers run on one).

Every point records wall/compile/run time, gradient evaluations, distinct draws in S,
and their ratios (the machine-independent cost is gradient evaluations per distinct draw).
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import consistent_nets as cn  # noqa: E402
from harness import clean, machine_info, save_results  # noqa: E402
from methods import ALL_METHODS, method_key, run_method  # noqa: E402

DEFAULT_METHODS = ["smc", "anneal", "blackjax-tuned", "sgd"]
NS = [32, 64, 128, 256]
WIDTHS = [8, 16, 32, 64]
TINY_NS = [8, 16]
TINY_WIDTHS = [2, 4]
TINY_N, TINY_WIDTH = 8, 2  # the tiny grid shares its corner point
KEEP = (
    "method", "status", "note", "num_params", "num_data", "wall_s", "compile_s", "run_s",
    "peak_rss_mb", "grad_evals", "draws_in_set", "distinct_in_set", "grad_evals_per_distinct",
    "distinct_per_s", "log_volume", "log_volume_se",
)


def build_problem(dataset: str, n: int, width: int) -> "cn.Problem":
    """The scaling family: moons MLP [2, h, h, 1], digits MLP [64, h, 1]; tanh, box 3."""
    if dataset == "moons":
        X, y = cn.datasets.moons(n, 0.1, 0)
        net = cn.MLP([2, width, width, 1], activation="tanh")
    elif dataset == "digits":
        X, y = cn.datasets.digits(classes=(3, 5), n=n, seed=0)
        net = cn.MLP([64, width, 1], activation="tanh")
    else:
        raise ValueError(f"dataset must be 'moons' or 'digits', got {dataset!r}")
    return cn.Problem(net, X, y, cn.BoxPrior(3.0), cn.Margin(0.0))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--axis", choices=["n", "width", "devices", "all"], default="all")
    parser.add_argument("--methods", nargs="+", choices=list(ALL_METHODS), default=None)
    parser.add_argument("--datasets", nargs="+", choices=["moons", "digits"], default=["moons", "digits"])
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: checks the harness, not numbers")
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--num-chains", type=int, default=4)
    parser.add_argument("--num-runs", type=int, default=1, help="independent BlackJAX runs per point")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="a .json file or a directory (default benchmarks/results/)")
    # internal: one point in a fresh process (the devices axis)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--method", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=100, help=argparse.SUPPRESS)
    parser.add_argument("--width", type=int, default=16, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.methods is None:
        args.methods = ["sgd"] if args.tiny else DEFAULT_METHODS
    if args.tiny:
        args.num_samples = min(args.num_samples, 8)
        args.num_chains = min(args.num_chains, 2)
        args.datasets = ["moons"]
    return args


def run_point(args, method, dataset, n, width) -> dict:
    problem = build_problem(dataset, n, width)
    record, _ = run_method(
        method,
        problem,
        method_key(args.seed, method),
        num_samples=args.num_samples,
        num_chains=args.num_chains,
        rejection_seconds=5.0 if args.tiny else 60.0,
        tiny=args.tiny,
        num_runs=args.num_runs,
    )
    out = {k: record.get(k) for k in KEEP}
    out.update(dataset=dataset, n=n, width=width)
    print(
        f"  {dataset:6s} n={n:4d} h={width:3d} {method:15s} {out['status']:9s} "
        f"run {out['run_s'] if out['run_s'] is not None else float('nan'):.2f} s "
        f"grads {out['grad_evals']} distinct {out['distinct_in_set']}",
        file=sys.stderr,
        flush=True,
    )
    return out


def _device_env(count: int) -> dict:
    env = dict(os.environ)
    flags = re.sub(r"--xla_force_host_platform_device_count=\d+", "", env.get("XLA_FLAGS", "")).strip()
    env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()
    return env


def run_devices(args) -> list[dict]:
    n, width = (TINY_N, TINY_WIDTH) if args.tiny else (100, 16)
    records = []
    for method in args.methods:
        times = {}
        for count in (1, 2):
            cmd = [
                sys.executable, str(Path(__file__).resolve()), "--worker", "--method", method,
                "--n", str(n), "--width", str(width), "--num-samples", str(args.num_samples),
                "--num-chains", str(args.num_chains), "--num-runs", str(args.num_runs),
                "--seed", str(args.seed),
            ] + (["--tiny"] if args.tiny else [])
            proc = subprocess.run(cmd, env=_device_env(count), capture_output=True, text=True)
            if proc.returncode != 0:
                record = {"method": method, "status": "failed", "note": proc.stderr[-2000:]}
            else:
                record = json.loads(proc.stdout.strip().splitlines()[-1])
            record.update(axis="devices", devices=count, dataset="moons", n=n, width=width)
            times[count] = record.get("run_s")
            if count == 2 and times.get(1) and times.get(2):
                record["speedup"] = times[1] / times[2]
            records.append(record)
            print(f"  devices={count} {method:15s} run {record.get('run_s')}", file=sys.stderr, flush=True)
    return records


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        import jax

        record = run_point(args, args.method, "moons", args.n, args.width)
        record["jax_devices"] = jax.device_count()
        print(json.dumps(clean(record)))
        return 0
    ns = TINY_NS if args.tiny else NS
    widths = TINY_WIDTHS if args.tiny else WIDTHS
    records, done = [], {}
    axes = ["n", "width", "devices"] if args.axis == "all" else [args.axis]

    def point(method, dataset, n, width, axis):
        # a point on both axes (e.g. digits n=128, h=16) is run once and recorded twice
        key = (method, dataset, n, width)
        if key not in done:
            done[key] = run_point(args, method, dataset, n, width)
        records.append(done[key] | {"axis": axis})

    if "n" in axes:
        for dataset in args.datasets:
            for n in ns:
                for method in args.methods:
                    point(method, dataset, n, TINY_WIDTH if args.tiny else 16, "n")
    if "width" in axes:
        for dataset in args.datasets:
            n = TINY_N if args.tiny else (100 if dataset == "moons" else 128)
            for width in widths:
                for method in args.methods:
                    point(method, dataset, n, width, "width")
    if "devices" in axes:
        records.extend(run_devices(args))
    meta = machine_info() | {
        "tiny": args.tiny,
        "seed": args.seed,
        "num_samples": args.num_samples,
        "num_chains": args.num_chains,
        "methods": args.methods,
        "axes": axes,
    }
    save_results(args.out, f"scaling{'-' + args.axis if args.axis != 'all' else ''}", "scaling", meta, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
