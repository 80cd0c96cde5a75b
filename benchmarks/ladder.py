"""The benchmark ladder: every method on one fixed problem, in one process.

Usage
-----
    python benchmarks/ladder.py --rung xor
    python benchmarks/ladder.py --rung moons --methods rejection blackjax-fixed
    python benchmarks/ladder.py --tiny --out /tmp/bench        # the harness test

For each method it records wall time split into compile and run, draws in S, distinct
draws in S, log vol(S) ± SE, the error against the rung's reference, gradient
evaluations per distinct draw, peak RSS growth and, when ``cn.diagnose`` exists, the
estimated distance from uniform (against the rejection draws when those are complete).
See ``harness.py`` for how each number is taken.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import machine_info, save_results  # noqa: E402
from methods import ALL_METHODS, diagnose_record, method_key, run_method  # noqa: E402
from rungs import RUNGS, get_rung  # noqa: E402

TINY_SAMPLES = 8


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rung", choices=list(RUNGS), default="xor")
    parser.add_argument("--methods", nargs="+", choices=list(ALL_METHODS), default=list(ALL_METHODS))
    parser.add_argument("--tiny", action="store_true", help="a handful of draws: checks the harness, not numbers")
    parser.add_argument("--num-samples", type=int, default=2000, help="draws in S asked of library methods")
    parser.add_argument("--num-chains", type=int, default=4)
    parser.add_argument("--num-runs", type=int, default=2, help="independent BlackJAX runs (their spread is the SE)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rejection-seconds", type=float, default=None, help="override the rung's rejection budget")
    parser.add_argument("--no-diagnose", action="store_true", help="skip cn.diagnose")
    parser.add_argument("--out", default=None, help="a .json file or a directory (default benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.num_samples = min(args.num_samples, TINY_SAMPLES)
        args.num_chains = min(args.num_chains, 2)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    rung = get_rung(args.rung)
    problem = rung.build()
    rejection_seconds = args.rejection_seconds if args.rejection_seconds is not None else rung.rejection_seconds
    if args.tiny:
        rejection_seconds = min(rejection_seconds or 5.0, 5.0)
    meta = machine_info() | {
        "rung": rung.name,
        "description": rung.description,
        "num_params": problem.num_params,
        "num_data": problem.num_data,
        "tiny": args.tiny,
        "seed": args.seed,
        "num_samples": args.num_samples,
        "num_chains": args.num_chains,
        "reference_log_volume": rung.reference_log_volume,
        "reference_note": rung.reference_note,
        "rejection_seconds": rejection_seconds,
    }
    records, trees = [], {}
    # rejection first: its complete draws are the reference sample for diagnose
    order = sorted(args.methods, key=lambda m: (m != "rejection", ALL_METHODS.index(m)))
    for method in order:
        print(f"[ladder] {rung.name}: {method} ...", file=sys.stderr, flush=True)
        record, tree = run_method(
            method,
            problem,
            method_key(args.seed, method),
            num_samples=args.num_samples,
            num_chains=args.num_chains,
            rejection_seconds=rejection_seconds,
            tiny=args.tiny,
            num_runs=args.num_runs,
            reference_log_volume=rung.reference_log_volume,
        )
        record["rung"] = rung.name
        trees[method] = tree
        records.append(record)
        _print_line(record)
    if not args.no_diagnose:
        ref = trees.get("rejection")
        ref_ok = ref is not None and next(r for r in records if r["method"] == "rejection")["status"] == "ok"
        for record in records:
            tree = trees.get(record["method"])
            if tree is None:
                continue
            reference = ref if ref_ok and record["method"] != "rejection" else None
            record.update(diagnose_record(tree, problem, reference=reference, seed=args.seed + 1))
    save_results(args.out, f"ladder-{rung.name}", "ladder", meta, records)
    return 0


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def _print_line(r):
    print(
        f"  {r['method']:15s} {r['status']:10s} wall {_fmt(r.get('wall_s'), '.2f')} s "
        f"(compile {_fmt(r.get('compile_s'), '.2f')}) in-S {r.get('draws_in_set', '-')} "
        f"distinct {r.get('distinct_in_set', '-')} log vol {_fmt(r.get('log_volume'), '.3f')} "
        f"± {_fmt(r.get('log_volume_se'), '.3f')} {r.get('note', '')[:100]}",
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
