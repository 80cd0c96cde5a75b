"""Planted-teacher calibration (SBC) of each method at XOR scale.

Usage
-----
    python benchmarks/calibration.py                          # 100 teachers, 99 draws each
    python benchmarks/calibration.py --methods smc --num-teachers 200
    python benchmarks/calibration.py --tiny --out /tmp/bench  # the harness test

Each teacher is a prior draw of MLP [2, 3, 1] tanh under BoxPrior(3) labelling 4 standard
normal inputs (margin 0), so it is an exact draw from the uniform distribution on its own
S. ``cn.calibrate`` samples every teacher's problem with the method and ranks the
teacher among the draws on three symmetry-invariant statistics (depth inside S, weight
norm, output at a probe point). A calibrated method gives uniform ranks; the verdict is a
chi-square test per statistic, Bonferroni-combined, at alpha = 0.01.

Writes ``calibration.json`` (ranks, p-values, verdicts, seconds per method) and
``figures/rank_histograms_<method>.png``.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
os.environ.setdefault("MPLBACKEND", "Agg")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import consistent_nets as cn  # noqa: E402
from consistent_nets.plots import rank_histograms  # noqa: E402
from harness import machine_info, save_results  # noqa: E402

HERE = Path(__file__).resolve().parent
METHODS = ["rejection", "smc", "anneal", "sgd"]
NET = cn.MLP([2, 3, 1], activation="tanh")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=["rejection", "smc", "sgd"])
    parser.add_argument("--num-teachers", type=int, default=100)
    parser.add_argument("--num-samples", type=int, default=99, help="draws per teacher (ranks 0..L)")
    parser.add_argument("--num-chains", type=int, default=1)
    parser.add_argument("--n", type=int, default=4, help="data points per teacher")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="10 teachers, 9 draws: checks the script, not numbers")
    parser.add_argument("--out", default=None, help="a .json file or a directory (default benchmarks/results/)")
    parser.add_argument("--figures", default=None, help="figure directory (default benchmarks/figures/)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.num_teachers, args.num_samples = 10, 9
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    figures = Path(args.figures) if args.figures else HERE / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    records = []
    for index, method in enumerate(args.methods):
        start = time.perf_counter()
        result = cn.calibrate(
            NET, cn.BoxPrior(3.0), cn.Margin(0.0), n=args.n, num_teachers=args.num_teachers,
            method=method, rng_key=jax.random.fold_in(jax.random.key(args.seed), index),
            num_samples=args.num_samples, num_chains=args.num_chains,
        )
        seconds = time.perf_counter() - start
        print(f"[calibration] {method}: {result}  ({seconds:.0f} s)", file=sys.stderr, flush=True)
        axes = rank_histograms(result)
        fig = axes[0].figure
        fig.suptitle(f"{method}: {'PASSED' if result.passed else 'FAILED'} (p = {result.p_value:.2g})")
        fig.tight_layout()
        fig.savefig(figures / f"rank_histograms_{method}{'-tiny' if args.tiny else ''}.png", dpi=110)
        plt.close(fig)
        records.append({
            "method": method,
            "passed": result.passed,
            "p_value": result.p_value,
            "p_values": result.p_values,
            "alpha": result.alpha,
            "num_teachers": args.num_teachers,
            "num_ranks": result.num_ranks,
            "ranks": {k: v.tolist() for k, v in result.ranks.items()},
            "seconds": seconds,
        })
    meta = machine_info() | {
        "tiny": args.tiny, "seed": args.seed, "net": repr(NET), "prior": "BoxPrior(3.0)",
        "constraint": "Margin(0.0)", "n": args.n, "num_samples": args.num_samples, "num_chains": args.num_chains,
    }
    save_results(args.out, "calibration", "calibration", meta, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
