"""Does the default pipeline pass its own diagnostics? ``cn.sample`` then ``cn.diagnose``.

For a case and ``--keys`` keys: ``cn.sample(problem, rng_key=key(k))`` with every default
(smc, symmetrised draws) and ``cn.diagnose(tree, problem, rng_key=key(10_000 + k))``.
Each is an exact sampler's output up to SMC's Monte-Carlo error, so a failure is a false
alarm or a real defect; the record counts failures per check.

Cases: ``xor`` (2-3-1 tanh, box 3, margin 0), ``relu3`` (a planted 2-4-3 relu teacher,
n = 12, NormalPrior(1), margin 0.1: three classes), ``moons`` (rung 2).

    python benchmarks/default_pipeline.py --case xor --keys 40 --num-samples 1000

``--smc '{"jump_target": 0.3}'``: the same with ``method=cn.SMC(**those)`` (a candidate
default measured before it becomes one, or an earlier default against the present one).
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402

import consistent_nets as cn  # noqa: E402
from benchmarks.harness import machine_info, save_results, smc_keywords  # noqa: E402
from benchmarks.rungs import get_rung  # noqa: E402


def relu3():
    net = cn.MLP([2, 4, 3], activation="relu")
    X, y, _ = cn.datasets.teacher(net, n=12, prior=cn.NormalPrior(1.0), seed=0)
    return cn.Problem(net, X, y, cn.NormalPrior(1.0), cn.Margin(0.1))


def smc_options(text: str) -> dict:
    """``--smc``'s JSON, checked by building ``cn.SMC`` from it (before any key runs)."""
    return smc_keywords(text, f"--smc {text!r}")


CASES = {"xor": lambda: get_rung("xor").build(), "relu3": relu3, "moons": lambda: get_rung("moons").build()}


def sample_and_diagnose(problem, k: int, num_samples: int, method="smc"):
    """``cn.sample`` with ``key(k)``, then ``cn.diagnose`` with ``key(10_000 + k)``:
    ``(tree, report, seconds)`` (an incomplete run's warning is silenced, not its result)."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        tree = cn.sample(problem, method=method, num_samples=num_samples, rng_key=jax.random.key(k), progress_bar=False)
    report = cn.diagnose(tree, problem, rng_key=jax.random.key(10_000 + k))
    return tree, report, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=list(CASES), default="xor")
    parser.add_argument("--keys", type=int, default=40)
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--first-key", type=int, default=100)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default=None)
    parser.add_argument("--smc", type=smc_options, default=None, help="cn.SMC keyword arguments (JSON) instead of the defaults")
    args = parser.parse_args(argv)
    method = "smc" if args.smc is None else cn.SMC(**args.smc)
    if args.tiny:
        args.case, args.keys, args.num_samples = "xor", 2, 200
    problem = CASES[args.case]()
    failed, checks, rows = 0, Counter(), []
    for k in range(args.first_key, args.first_key + args.keys):
        tree, report, seconds = sample_and_diagnose(problem, k, args.num_samples, method)
        bad = [c.name for c in report.checks.values() if c.passed is False]
        failed += not report.passed
        checks.update(bad)
        rows.append({"key": k, "passed": report.passed, "failed_checks": bad, "ess": float(tree.attrs["ess"]),
                     "distance": float(report.distance), "seconds": seconds,
                     # populations whose moves ran to max_moves (finer steps in S since; absent before it existed)
                     "populations_stalled": tree.attrs.get("num_populations_stalled")})
        print(f"[default_pipeline] {args.case} key {k}: {'pass' if report.passed else 'FAIL ' + ','.join(bad)} "
              f"ess {tree.attrs['ess']:.0f} ({rows[-1]['seconds']:.0f} s)", file=sys.stderr, flush=True)
    record = {"case": args.case, "keys": args.keys, "num_samples": args.num_samples, "smc": args.smc, "failed": failed,
              "failed_by_check": dict(checks), "runs": rows}
    print(f"[default_pipeline] {args.case}: {failed} of {args.keys} keys failed {dict(checks)}", file=sys.stderr)
    meta = machine_info() | {"tiny": args.tiny, "problem": repr(problem)}
    save_results(args.out, f"default-pipeline-{args.case}", "default-pipeline", meta, [record])


if __name__ == "__main__":
    main()
