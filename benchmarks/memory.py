"""Peak memory of one SMC population against its number of particles, with and without chunks.

Usage
-----
    python benchmarks/memory.py                                   # moons, N = 1e3, 1e4, 1e5
    python benchmarks/memory.py --rung xor --particles 1000 10000 100000 1000000
    python benchmarks/memory.py --tiny --out /tmp/bench           # the harness test

Each point runs in a fresh process (so that no earlier allocation is reused): one
population (``num_chains=1``) of N particles on the ladder's rung, with
``cn.SMC(batch_size=B)`` (default B = 1000) and with ``batch_size=None`` (every
particle at once), for one tempering stage of one NUTS move of depth at most 2 and the
final phase, which holds the same buffers as a longer run. It calls ``cn.sample`` twice
and records the growth of the resident set over the second call (``peak_rss_mb``: the
run's buffers, compilation done; on CPU every JAX buffer lives there), then over the
sampler alone (``sampler_peak_rss_mb``: the driver without ``cn.sample``'s
post-processing, whose function-space features are computed for all draws at once) and,
on a GPU, the device allocator's ``peak_bytes_in_use``. The population itself
(N x dim floats, a few copies) must grow with N; what chunking bounds is the
working memory of the penalty and the moves (N x data x width activations).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rung", default="moons", choices=["xor", "moons"])
    parser.add_argument("--particles", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--no-unbatched", action="store_true", help="only the runs with batch_size")
    parser.add_argument("--unbatched-max", type=int, default=None, help="unbatched runs only up to this N")
    parser.add_argument("--once", action="store_true",
                        help="one call per point (on a GPU the device allocator's peak excludes compilation)")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default=None)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--num-particles", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--chunk", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tiny:
        args.rung, args.particles, args.batch_size = "xor", [64, 256], 32
    return args


def worker(args) -> None:
    import jax

    import consistent_nets as cn
    from consistent_nets._target import make_target
    from consistent_nets.samplers.driver import run
    from harness import measure
    from rungs import get_rung

    problem = get_rung(args.rung).build()
    n = args.num_particles
    sampler = cn.SMC(num_particles=n, batch_size=args.chunk or None, max_stages=1, min_moves=1, max_moves=1,
                     final_moves=1, max_tree_depth=2)
    status = "ok"

    def once():
        try:
            cn.sample(problem, method=sampler, num_samples=n, num_chains=1, rng_key=jax.random.key(0),
                      progress_bar=False)
        except cn.InfeasibleError:
            return "no particle in S after one stage (memory still measured)"
        return "ok"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with measure() as first:  # compiles: XLA's own memory would swamp the buffers
            status = once()
        m = first
        if not args.once:
            with measure() as m:  # the same programs again: only the run's buffers grow
                status = once()
            with measure() as alone:  # the sampler alone, without cn.sample's post-processing
                try:
                    run(sampler, make_target(problem), jax.random.key(0), n, 1, False)
                except cn.InfeasibleError:
                    pass
    device = jax.local_devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    record = m.as_dict() | {
        "sampler_peak_rss_mb": None if args.once else alone.peak_rss_mb,
        "first_call_compile_s": first.compile_s, "first_call_peak_rss_mb": first.peak_rss_mb,
        "rung": args.rung, "num_particles": n, "batch_size": args.chunk or None, "status": status,
        "num_params": problem.num_params, "num_data": problem.num_data,
        "backend": jax.default_backend(),
        "device_peak_bytes": (stats or {}).get("peak_bytes_in_use"),
        "population_bytes": 4 * n * problem.num_params,
    }
    print(json.dumps(record))


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    from harness import machine_info, save_results

    records = []
    for chunk in [args.batch_size] + ([] if args.no_unbatched else [0]):
        for n in args.particles:
            if not chunk and args.unbatched_max is not None and n > args.unbatched_max:
                continue
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--rung", args.rung,
                   "--num-particles", str(n), "--chunk", str(chunk if chunk < n else 0)] + ["--once"] * args.once
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
                ok = proc.returncode == 0
                record = json.loads(proc.stdout.strip().splitlines()[-1]) if ok else {
                    "num_particles": n, "batch_size": chunk or None, "status": "failed", "note": proc.stderr[-1500:]}
            except subprocess.TimeoutExpired:
                record = {"num_particles": n, "batch_size": chunk or None, "status": "timeout"}
            records.append(record)
            print(f"  N={n} batch={chunk or None}: peak RSS {record.get('peak_rss_mb')} MB, sampler alone "
                  f"{record.get('sampler_peak_rss_mb')} MB, device peak "
                  f"{record.get('device_peak_bytes')} B, run {record.get('run_s')} s", file=sys.stderr, flush=True)
    meta = machine_info() | {"tiny": args.tiny, "rung": args.rung}
    save_results(args.out, f"memory-{args.rung}", "memory", meta, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
