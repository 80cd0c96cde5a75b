"""Effective draws per second against the number of JAX processes (``jax.distributed``).

Usage
-----
    python benchmarks/processes.py --processes 1 2            # this machine: 1 and 2 processes
    python benchmarks/processes.py --processes 1 2 4 8 --pin  # one core per process (a bigger host)
    python benchmarks/processes.py --tiny --out /tmp/bench    # the harness test

For each process count ``P`` it starts ``P`` local CPU processes of one device each
(gloo collectives, ``jax.distributed.initialize`` on a free localhost port), and each
runs the same ``cn.sample(problem, method="smc", num_chains=C)``: moons n = 50, MLP
[2, 8, 8, 1] tanh, box 3, 1000 draws in 8 populations. Process 0 records wall, compile
and run time (JAX's compile events), ``attrs["ess"]`` and effective draws per second of
run time, and the bytes it gathered from the other processes
(:func:`consistent_nets.samplers.distributed.bytes_gathered`). ``--pin`` pins process
``i`` to core ``i`` (``os.sched_setaffinity``) so that P processes use P cores;
``--concurrent`` runs all layouts at the same time on disjoint cores (1 + 2 + 4 + 8 = 15
cores for ``--processes 1 2 4 8``), which saves the lease time of running them in turn.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--num-chains", type=int, default=8)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pin", action="store_true", help="pin process i to core i")
    parser.add_argument("--concurrent", action="store_true",
                        help="run the layouts at once on disjoint cores (with --pin; needs sum(processes) cores)")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default=None)
    parser.add_argument("--timeout", type=float, default=1800.0)
    # worker mode (internal)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rank", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--first-core", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tiny:
        args.num_samples, args.num_chains, args.n, args.width = 32, 4, 8, 3
        args.processes = [p for p in args.processes if p <= 2] or [1]
    return args


def worker(args) -> None:
    if args.pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {(args.first_core + args.rank) % os.cpu_count()})
    import jax

    if args.size > 1:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(f"localhost:{args.port}", args.size, args.rank)
    import numpy as np

    import consistent_nets as cn
    from consistent_nets.samplers.distributed import bytes_gathered
    from harness import measure

    X, y = cn.datasets.moons(args.n, 0.1, 0)
    problem = cn.Problem(cn.MLP([2, args.width, args.width, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
    method = cn.SMC(max_tree_depth=3, max_moves=2, final_moves=2) if args.tiny else "smc"
    with measure() as m:
        tree = cn.sample(problem, method=method, num_samples=args.num_samples, num_chains=args.num_chains,
                         rng_key=jax.random.key(args.seed), progress_bar=False)
    digest = hashlib.sha256(b"".join(np.ascontiguousarray(tree.posterior[v].values).tobytes()
                                     for v in sorted(tree.posterior.data_vars))).hexdigest()[:16]
    record = m.as_dict() | {
        "processes": args.size, "devices": jax.device_count(), "rank": args.rank,
        "ess": float(tree.attrs["ess"]), "ess_per_s": float(tree.attrs["ess"]) / m.run_s,
        "num_stages": int(tree.attrs["num_stages"]), "log_volume": float(tree.attrs["log_volume"]),
        "num_grad_evals": int(tree.attrs["num_grad_evals"]), "bytes_gathered": bytes_gathered(),
        "num_particles": args.num_samples // args.num_chains, "num_params": problem.num_params,
        "posterior_sha256": digest,
    }
    print(json.dumps(record))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def start_layout(args, size: int, first_core: int = 0) -> list:
    env = dict(os.environ)
    flags = re.sub(r"--xla_force_host_platform_device_count=\d+", "", env.get("XLA_FLAGS", "")).strip()
    env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count=1".strip()
    env["JAX_PLATFORMS"] = "cpu"
    port = _free_port()
    base = [sys.executable, str(Path(__file__).resolve()), "--worker", "--size", str(size), "--port", str(port),
            "--num-samples", str(args.num_samples), "--num-chains", str(args.num_chains), "--n", str(args.n),
            "--width", str(args.width), "--seed", str(args.seed), "--first-core", str(first_core)]
    base += ["--pin"] * args.pin + ["--tiny"] * args.tiny
    return [subprocess.Popen(base + ["--rank", str(r)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for r in range(size)]


def collect_layout(args, size: int, procs) -> list[dict]:
    records = []
    for r, proc in enumerate(procs):
        try:
            out, err = proc.communicate(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        if proc.returncode == 0:
            records.append(json.loads(out.strip().splitlines()[-1]))
        else:
            records.append({"processes": size, "rank": r, "status": "failed", "note": err[-2000:]})
    return records


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    from harness import machine_info, save_results

    records, started, core = [], [], 0
    for size in args.processes:
        started.append((size, start_layout(args, size, core)))
        if args.concurrent:
            core += size
        else:
            started[-1] = (size, collect_layout(args, size, started[-1][1]))
    for size, layout in started:
        layout = collect_layout(args, size, layout) if args.concurrent else layout
        records.extend(layout)
        main_record = layout[0]
        print(f"  processes={size}: run {main_record.get('run_s')} s, ess/s {main_record.get('ess_per_s')}, "
              f"gathered {main_record.get('bytes_gathered')} B", file=sys.stderr, flush=True)
    meta = machine_info() | {"tiny": args.tiny, "pin": args.pin, "concurrent": args.concurrent, "n": args.n, "width": args.width,
                             "num_samples": args.num_samples, "num_chains": args.num_chains}
    save_results(args.out, "processes", "processes", meta, records)
    return 0 if all(r.get("status") != "failed" for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
