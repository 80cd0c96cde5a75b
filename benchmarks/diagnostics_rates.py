"""False-alarm and miss rates of ``cn.diagnose`` on XOR (MLP [2, 3, 1] tanh, BoxPrior(3), Margin(0)).

For each seed: exact rejection draws (must pass) and the SGD heuristic's draws (must fail)
are diagnosed without a reference, and with ``--reference`` also against an independent
rejection sample. Prints per-seed distances and verdicts, then the false-alarm rate
(rejection failing), the miss rate (SGD passing) and the median distances.

    uv run python benchmarks/diagnostics_rates.py --reference   # 20 seeds, 1000 draws each
    uv run python benchmarks/diagnostics_rates.py --tiny --out /tmp/bench   # 3 seeds, 300 draws (the harness test)

Writes ``diagnostics-rates.json`` (per-seed verdicts, distances and failed checks; the
rates in ``meta["summary"]``) under ``benchmarks/results/`` unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import jax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import consistent_nets as cn  # noqa: E402
from harness import machine_info, save_results  # noqa: E402



def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--reference", action="store_true", help="also diagnose against an independent rejection sample")
    parser.add_argument("--tiny", action="store_true", help="3 seeds of 300 draws")
    parser.add_argument("--out", default=None, help="a .json file or a directory (default benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.seeds, args.num_samples = 3, 300
    X, y = cn.datasets.xor()
    problem = cn.Problem(cn.MLP([2, 3, 1], activation="tanh"), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
    modes = ["none", "reference"] if args.reference else ["none"]
    rows = []
    start = time.perf_counter()
    for seed in range(args.seeds):
        trees = {
            method: cn.sample(problem, method=method, num_samples=args.num_samples,
                              rng_key=jax.random.key(10_000 * i + seed), progress_bar=False)
            for i, method in enumerate(["rejection", "sgd"])
        }
        reference = None
        if args.reference:
            reference = cn.sample(problem, method="rejection", num_samples=args.num_samples,
                                  rng_key=jax.random.key(50_000 + seed), progress_bar=False)
            reference.attrs.pop("log_volume")  # compare samples, not volume estimates
        for method, tree in trees.items():
            for mode in modes:
                report = cn.diagnose(tree, problem, reference=reference if mode == "reference" else None,
                                     rng_key=jax.random.key(90_000 + seed))
                failed = [n for n, c in report.checks.items() if c.passed is False]
                rows.append(dict(seed=seed, method=method, mode=mode, passed=report.passed,
                                 distance=report.distance, noise=report.distance_noise, failed=failed))
                print(f"seed {seed:2d} {method:9s} ref={mode:9s} passed={report.passed!s:5s} "
                      f"distance={report.distance:.3f} (noise {report.distance_noise:.3f}) failed={failed}",
                      flush=True)
    summary = {}
    for mode in modes:
        rej = [r for r in rows if r["method"] == "rejection" and r["mode"] == mode]
        sgd = [r for r in rows if r["method"] == "sgd" and r["mode"] == mode]
        summary[mode] = dict(
            false_alarm_rate=float(np.mean([not r["passed"] for r in rej])),
            miss_rate=float(np.mean([r["passed"] for r in sgd])),
            median_distance_rejection=float(np.median([r["distance"] for r in rej])),
            median_distance_sgd=float(np.median([r["distance"] for r in sgd])),
        )
        s = summary[mode]
        print(f"reference={mode}: false alarms {s['false_alarm_rate']:.0%} of {len(rej)}, "
              f"misses {s['miss_rate']:.0%} of {len(sgd)}, median distance rejection "
              f"{s['median_distance_rejection']:.3f} vs sgd {s['median_distance_sgd']:.3f} "
              f"(x{s['median_distance_sgd'] / s['median_distance_rejection']:.1f})")
    seconds = time.perf_counter() - start
    print(f"{seconds:.0f} s")
    meta = machine_info() | {
        "tiny": args.tiny, "seeds": args.seeds, "num_samples": args.num_samples, "reference": args.reference,
        "problem": "XOR, MLP [2, 3, 1] tanh, BoxPrior(3.0), Margin(0.0)", "seconds": seconds, "summary": summary,
    }
    save_results(args.out, "diagnostics-rates", "diagnostics-rates", meta, rows)
    return summary


if __name__ == "__main__":
    main()
