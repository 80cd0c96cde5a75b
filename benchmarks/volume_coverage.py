"""Does ``log vol(S) ± SE`` cover the true value as often as it says?

SMC's standard error is the spread of its populations' estimates (``num_chains`` of them,
4 by default), so it has ``num_chains - 1`` degrees of freedom (``attrs["log_volume_se_dof"]``):
an estimate of the SE that is itself uncertain by about ``1 / sqrt(2 * dof)``, 41 % at 3.
A reader who takes ``± SE`` as a normal 68 % interval, or ``± 2 SE`` as 95 %, then trusts
it more than it deserves; Student's t with those degrees of freedom says how wide an
interval must be (``attrs["log_volume_ci_lower"]`` to ``["log_volume_ci_upper"]``, 95 %:
``± 3.18 SE`` at 3).

For each of ``--keys`` keys, ``cn.sample`` at the defaults (the ladder's ``smc`` key of
that seed), and the estimate's error against a reference: ``z = (log vol - ref) /
sqrt(SE^2 + SE_ref^2)``. The record counts how often ``|z| < 1``, ``< 2`` and the 95 %
interval (the tree's, widened by the reference's SE) cover the reference, against what a
normal ``± SE`` claims (68 %, 95 %) and what Student's t with that many degrees of freedom
predicts, with binomial 95 % intervals on each count. The reference: ``--reference VALUE
--reference-se SE``, or exact rejection in the same process (``--rejection-accepted K``
accepted prior draws; XOR's rate is about 1 in 180). ``--from FILE ...`` reads
``smc_variants.py`` records (their ``log_volume`` and per-population estimates) instead of
running, for rungs where a run takes minutes::

    python benchmarks/volume_coverage.py --rung xor --keys 100 --rejection-accepted 20000
    python benchmarks/volume_coverage.py --rung teacher --reference -72.000 --reference-se 0.046 \\
        --from benchmarks/results/smc-variants-teacher-stalled09-seed*.json
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import jax  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

import consistent_nets as cn  # noqa: E402
from benchmarks.harness import machine_info, save_results  # noqa: E402
from benchmarks.rungs import RUNGS, get_rung  # noqa: E402
from consistent_nets._output import log_volume_interval  # noqa: E402
from consistent_nets.samplers.population import log_volume_from_chains  # noqa: E402
from methods import method_key  # noqa: E402


def rejection_reference(problem, accepted: int, seed: int) -> tuple[float, float, int]:
    """``log vol(S)`` and its SE from ``accepted`` exact rejection draws (and the prior draws it took)."""
    tree = cn.sample(problem, method="rejection", num_samples=accepted, num_chains=1,
                     rng_key=jax.random.key(10_000 + seed), progress_bar=False)
    return float(tree.attrs["log_volume"]), float(tree.attrs["log_volume_se"]), int(tree.attrs["num_prior_draws"])


def run_keys(problem, keys, num_samples: int) -> list[dict]:
    rows = []
    for seed in keys:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            tree = cn.sample(problem, num_samples=num_samples, rng_key=method_key(seed, "smc"), progress_bar=False)
        rows.append({
            "seed": seed,
            "log_volume": float(tree.attrs["log_volume"]),
            "log_volume_se": float(tree.attrs["log_volume_se"]),
            "log_volume_se_dof": int(tree.attrs["log_volume_se_dof"]),
            "log_volume_interval": [float(tree.attrs["log_volume_ci_lower"]), float(tree.attrs["log_volume_ci_upper"])],
            "log_volume_per_population": [float(v) for v in tree["smc_stages"]["log_volume"].values],
            "seconds": time.perf_counter() - start,
        })
        print(f"[volume_coverage] key {seed}: {rows[-1]['log_volume']:.3f} ± {rows[-1]['log_volume_se']:.3f}",
              file=sys.stderr, flush=True)
    return rows


def read_records(paths) -> list[dict]:
    """``smc_variants.py`` records: the pooled estimate recomputed from the per-population ones
    (as ``cn.sample`` pools them), so the degrees of freedom are the populations' count minus one."""
    rows = []
    for path in paths:
        for record in json.loads(Path(path).read_text())["records"]:
            per = np.asarray(record["log_volume_per_population"], dtype=np.float64)
            value, se = log_volume_from_chains(per)
            attrs = {"log_volume": value, "log_volume_se": se, "log_volume_se_dof": per.size - 1}
            interval = log_volume_interval(attrs)  # as the tree's attrs would have it
            rows.append({"source": Path(path).name, "variant": record.get("variant"), "seed": record["seed"], **attrs,
                         "log_volume_interval": [interval["log_volume_ci_lower"], interval["log_volume_ci_upper"]],
                         "log_volume_per_population": per.tolist()})
    return rows


def coverage(rows, reference: float, reference_se: float) -> dict:
    """How often each interval covers the reference, with what normal and t readings predict."""
    lv = np.array([r["log_volume"] for r in rows])
    se = np.array([r["log_volume_se"] for r in rows])
    dof = np.array([r["log_volume_se_dof"] for r in rows])
    z = (lv - reference) / np.sqrt(se**2 + reference_se**2)
    half95 = stats.t.ppf(0.975, dof) * np.sqrt(se**2 + reference_se**2)
    for r, zi in zip(rows, z):
        r["z"] = float(zi)
    n = len(rows)

    def rate(hits):  # main() refuses an empty set of runs
        k = int(np.sum(hits))
        lo, hi = stats.binomtest(k, n).proportion_ci(0.95)
        return {"count": k, "of": n, "rate": k / n, "ci95": [float(lo), float(hi)]}

    return {
        "reference": reference, "reference_se": reference_se, "keys": n,
        "mean_error": float(np.mean(lv - reference)),
        "mean_error_se": float(np.std(lv - reference, ddof=1) / math.sqrt(n)) if n > 1 else math.nan,
        "mean_z": float(np.mean(z)), "mean_z_squared": float(np.mean(z**2)),
        # E[t_nu^2] = nu / (nu - 2): 3 at 3 degrees of freedom, 1 for a normal SE
        "t_mean_z_squared": float(np.mean(np.where(dof > 2, dof / np.maximum(dof - 2, 1), np.inf))),
        "within_1_se": rate(np.abs(z) < 1), "t_predicts_within_1_se": float(np.mean(stats.t.cdf(1, dof) * 2 - 1)),
        "within_2_se": rate(np.abs(z) < 2), "t_predicts_within_2_se": float(np.mean(stats.t.cdf(2, dof) * 2 - 1)),
        "within_interval95": rate(np.abs(lv - reference) < half95),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rung", choices=list(RUNGS), default="xor")
    parser.add_argument("--keys", type=int, default=100, help="keys 0..K-1 (the ladder's smc keys)")
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--reference", type=float, default=None)
    parser.add_argument("--reference-se", type=float, default=0.0)
    parser.add_argument("--rejection-accepted", type=int, default=None,
                        help="compute the reference by exact rejection with this many accepted draws")
    parser.add_argument("--from", dest="files", nargs="+", default=None, help="smc_variants.py result files")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.tiny:
        args.rung, args.keys, args.num_samples, args.rejection_accepted = "xor", 3, 80, 200
    if (args.reference is None) == (args.rejection_accepted is None):
        parser.error("give exactly one of --reference and --rejection-accepted")
    if args.rejection_accepted is not None and args.rejection_accepted < 1:
        parser.error(f"--rejection-accepted must be >= 1, got {args.rejection_accepted}")
    if args.files is None and args.keys < 1:
        parser.error(f"--keys must be >= 1, got {args.keys}")
    problem = get_rung(args.rung).build()
    meta = machine_info() | {"tiny": args.tiny, "rung": args.rung, "rung_description": get_rung(args.rung).description,
                             "num_samples": None if args.files else args.num_samples, "from": args.files}
    if args.rejection_accepted is not None:
        start = time.perf_counter()
        args.reference, args.reference_se, prior_draws = rejection_reference(problem, args.rejection_accepted, 0)
        meta |= {"rejection_accepted": args.rejection_accepted, "rejection_prior_draws": prior_draws,
                 "rejection_seconds": time.perf_counter() - start}
    rows = read_records(args.files) if args.files else run_keys(problem, range(args.keys), args.num_samples)
    if not rows:
        parser.error(f"--from {' '.join(args.files)}: no records to read")
    summary = coverage(rows, args.reference, args.reference_se)
    print(f"[volume_coverage] {args.rung}: reference {args.reference:.3f} ± {args.reference_se:.3f}; "
          f"within 1 SE {summary['within_1_se']['rate']:.2f} (t predicts {summary['t_predicts_within_1_se']:.2f}), "
          f"2 SE {summary['within_2_se']['rate']:.2f} (t {summary['t_predicts_within_2_se']:.2f}), "
          f"95 % interval {summary['within_interval95']['rate']:.2f}; mean z^2 {summary['mean_z_squared']:.2f} "
          f"(t {summary['t_mean_z_squared']:.2f})", file=sys.stderr)
    save_results(args.out, f"volume-coverage-{args.rung}", "volume-coverage", meta, [{"summary": summary, "runs": rows}])


if __name__ == "__main__":
    main()
