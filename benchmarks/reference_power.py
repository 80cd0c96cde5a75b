"""Power of the reference check: samples missing part of S, against an exact reference.

XOR (rung 1). The reference is 2000 exact rejection draws. A sample "missing a fraction
q of S in function space" is exact rejection draws (another key) with every draw whose
output at a probe input ``x*`` lies above the reference's (1 - q) quantile removed: a
region of S of prior mass q is absent, the rest is exactly uniform. For each q and seed,
``cn.diagnose(sample, problem, reference=ref)``; the record keeps how often the
reference check and the whole report fail. q = 0 is the false-alarm rate.

    python benchmarks/reference_power.py --seeds 20 --num-draws 400
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402
import numpy as np  # noqa: E402

import consistent_nets as cn  # noqa: E402
from benchmarks.harness import machine_info, save_results  # noqa: E402
from benchmarks.rungs import get_rung  # noqa: E402

PROBE = np.array([[0.5, -0.25]], dtype=np.float32)


def missing_sample(problem, key, fraction, num_draws, threshold):
    """Exact draws without those whose output at PROBE exceeds ``threshold``: (chain 1, draw) tree."""
    tree = cn.sample(problem, method="rejection", num_samples=int(num_draws / max(1 - fraction, 0.05)) + 50,
                     num_chains=1, rng_key=key, progress_bar=False)
    f = cn.predict(problem, tree, PROBE)[0, :, 0, 0]
    keep = np.flatnonzero(f <= threshold)[:num_draws] if fraction > 0 else np.arange(num_draws)
    out = tree.copy()
    for group in ("posterior", "sample_stats"):
        out[group] = tree[group].to_dataset().isel(draw=keep).assign_coords(draw=np.arange(keep.size))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--num-draws", type=int, default=400)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.3])
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.tiny:
        args.seeds, args.num_draws, args.fractions = 2, 100, [0.0, 0.3]
    problem = get_rung("xor").build()
    ref = cn.sample(problem, method="rejection", num_samples=2000, rng_key=jax.random.key(0), progress_bar=False)
    ref_f = cn.predict(problem, ref, PROBE)[..., 0, 0].ravel()
    records = []
    for fraction in args.fractions:
        threshold = float(np.quantile(ref_f, 1 - fraction)) if fraction > 0 else np.inf
        failed_reference, failed_report = 0, 0
        p_values = []
        for seed in range(args.seeds):
            sample = missing_sample(problem, jax.random.key(1000 + seed), fraction, args.num_draws, threshold)
            report = cn.diagnose(sample, problem, reference=ref, rng_key=jax.random.key(seed))
            p_values.append(report.checks["reference"].p_value)
            failed_reference += not report.checks["reference"].passed
            failed_report += not report.passed
        records.append({
            "missing_fraction": fraction,
            "seeds": args.seeds,
            "num_draws": args.num_draws,
            "reference_failed": failed_reference,
            "report_failed": failed_report,
            "median_p_value": float(np.median(p_values)),
        })
        print(
            f"[reference_power] missing {fraction:.0%}: reference check failed {failed_reference}/{args.seeds}, "
            f"report failed {failed_report}/{args.seeds}, median p {np.median(p_values):.2g}",
            file=sys.stderr,
            flush=True,
        )
    meta = machine_info() | {"tiny": args.tiny, "probe": PROBE.tolist(), "reference_draws": 2000}
    save_results(args.out, "reference-power", "reference-power", meta, records)


if __name__ == "__main__":
    main()
