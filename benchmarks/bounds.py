"""The sandwich on a planted rung: forward SMC below, annealing in reverse from the teacher above.

``cn.bound_log_volume`` on a planted problem (the teacher rung by default): the forward
run is the default ``smc`` (its tree's effective draws, gradients and time are recorded
too), the reverse chains start at the teacher and random symmetric copies of it. With
``--kernel`` the forward run uses another move (``rhmc``, ``hmc``) for comparison.

    python benchmarks/bounds.py --rung teacher --num-reverse 16
    python benchmarks/bounds.py --rung teacher --kernel rhmc
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402

import consistent_nets as cn  # noqa: E402
from benchmarks.harness import machine_info, save_results  # noqa: E402


def planted(rung: str, tiny: bool):
    if rung == "teacher" and not tiny:
        net, n, seed = cn.MLP([10, 32, 32, 1], activation="tanh"), 100, 0
    else:
        net, n, seed = cn.MLP([2, 3, 1], activation="tanh"), 8, 1
    X, y, w_star = cn.datasets.teacher(net, n=n, prior=cn.BoxPrior(3.0), seed=seed)
    return cn.Problem(net, X, y, cn.BoxPrior(3.0), cn.Margin(0.0)), w_star


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rung", choices=["teacher", "small-teacher"], default="teacher")
    parser.add_argument("--kernel", choices=["nuts", "hmc", "rhmc"], default="nuts")
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--num-reverse", type=int, default=16)
    parser.add_argument("--reverse-steps", type=int, default=5)
    parser.add_argument("--refine", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.tiny:
        args.num_samples, args.num_reverse, args.refine, args.reverse_steps = 200, 4, 2, 2
    problem, w_star = planted(args.rung, args.tiny)
    start = time.perf_counter()
    bounds = cn.bound_log_volume(
        problem, w_star, rng_key=jax.random.key(args.seed), method=cn.SMC(kernel=args.kernel),
        num_samples=args.num_samples, num_reverse=args.num_reverse, reverse_steps=args.reverse_steps,
        refine=args.refine,
    )
    seconds = time.perf_counter() - start
    attrs = bounds.tree.attrs
    record = {
        "rung": args.rung, "kernel": args.kernel, "num_samples": args.num_samples,
        "lower": bounds.lower, "lower_se": bounds.lower_se, "upper": bounds.upper, "upper_se": bounds.upper_se,
        "gap": bounds.gap, "reverse_log_weights": bounds.reverse_log_weights.tolist(),
        "ess": float(attrs["ess"]), "num_distinct": int(attrs["num_distinct"]),
        "grad_evals": int(attrs["num_grad_evals"]), "num_stages": int(attrs["num_stages"]),
        "seconds_total": seconds,
    }
    print(f"[bounds] {args.rung} {args.kernel}: {bounds} ess {record['ess']:.0f} "
          f"grads {record['grad_evals']:.3g} ({seconds:.0f} s)", file=sys.stderr)
    meta = machine_info() | {"tiny": args.tiny, "problem": repr(problem)}
    save_results(args.out, f"bounds-{args.rung}-{args.kernel}", "bounds", meta, [record])


if __name__ == "__main__":
    main()
