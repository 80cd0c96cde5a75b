"""Does the populations check see wrong mode weights? ``anneal`` against ``smc`` on a rung.

For ``--keys`` keys: ``cn.sample(problem, method=M, rng_key=key(k))`` for each method and
``cn.diagnose(tree, problem, rng_key=key(10_000 + k))``; records, per run, the
populations check's statistic and p-value (chi-square of function-space cluster
proportions across chains) and the other checks' verdicts. ``anneal`` runs NUTS chains
through a β schedule, which is known to weight the modes of S by where chains happened
to enter them; ``smc`` reweights across modes. The fraction of failing populations
checks is the check's power against ``anneal`` (and its false-alarm rate on ``smc``).

    python benchmarks/populations_power.py --rung moons --keys 3
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.default_pipeline import sample_and_diagnose  # noqa: E402
from benchmarks.harness import machine_info, save_results  # noqa: E402
from benchmarks.rungs import get_rung  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rung", default="moons")
    parser.add_argument("--methods", nargs="+", default=["anneal", "smc"])
    parser.add_argument("--keys", type=int, default=3)
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.tiny:
        args.rung, args.keys, args.num_samples = "xor", 1, 200
    problem = get_rung(args.rung).build()
    records = []
    for method in args.methods:
        for k in range(100, 100 + args.keys):
            tree, report, seconds = sample_and_diagnose(problem, k, args.num_samples, method)
            populations = report.checks["populations"]
            record = {
                "method": method, "key": k, "passed": bool(report.passed),
                "populations_passed": populations.passed, "populations_p": getattr(populations, "p_value", None),
                "populations_statistic": getattr(populations, "statistic", None),
                "failed_checks": [n for n, c in report.checks.items() if c.passed is False],
                "ess": float(tree.attrs["ess"]), "seconds": seconds,
            }
            records.append(record)
            verdict = {True: "pass", False: "FAIL", None: "n/a"}[record["populations_passed"]]
            print(f"[populations_power] {args.rung} {method} key {k}: populations {verdict} "
                  f"(p = {record['populations_p']}), "
                  f"failed {record['failed_checks']} ({record['seconds']:.0f} s)", file=sys.stderr, flush=True)
    meta = machine_info() | {"tiny": args.tiny, "rung": args.rung, "num_samples": args.num_samples}
    save_results(args.out, f"populations-power-{args.rung}", "populations-power", meta, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
