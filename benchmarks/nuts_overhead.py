"""Wall time of one vectorised NUTS move against plain HMC of the same length, per leapfrog step.

Usage
-----
    python benchmarks/nuts_overhead.py                        # the teacher rung, 500 particles
    python benchmarks/nuts_overhead.py --tiny --out /tmp/bench  # the harness test

On the teacher rung every NUTS trajectory of the library's SMC reaches the tree-depth cap
(2^6 - 1 = 63 leapfrog steps; see BENCHMARKS.md). This script times one move of a
population on the rung's tempered potential (``consistent_nets.extend.make_target``) with BlackJAX's NUTS
(depth cap 6) and with BlackJAX's HMC of 63 steps, both vmapped over the particles, and
reports seconds per move and per leapfrog step computed. A vmapped NUTS move runs every
particle until the batch's longest tree is built, so its computed steps are
particles x 63 whenever one particle reaches the cap.

Writes ``nuts-overhead.json``.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import blackjax  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import consistent_nets as cn
from consistent_nets.extend import make_target  # noqa: E402
from harness import machine_info, save_results  # noqa: E402
from rungs import RUNGS  # noqa: E402



def time_move(kernel, u, key, repeats):
    """Best of ``repeats`` timings of one vmapped move (compiled first); mean and largest
    number of leapfrog steps the particles' trajectories used."""
    num = u.shape[0]

    @jax.jit
    def move(key, u):
        states = jax.vmap(kernel.init)(u)
        new, info = jax.vmap(kernel.step)(jax.random.split(key, num), states)
        return new.position, info.num_integration_steps

    jax.block_until_ready(move(key, u))
    best = float("inf")
    for i in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(move(jax.random.fold_in(key, i + 1), u))
        best = min(best, time.perf_counter() - t0)
    _, steps = move(key, u)
    return best, float(jnp.mean(steps)), float(jnp.max(steps))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rung", choices=list(RUNGS), default="teacher")
    parser.add_argument("--num-particles", type=int, default=500)
    parser.add_argument("--beta", type=float, default=100.0, help="inverse temperature of the potential")
    parser.add_argument("--step-sizes", type=float, nargs="+", default=[0.002, 0.0005])
    parser.add_argument("--max-tree-depth", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="XOR, 8 particles: checks the script, not numbers")
    parser.add_argument("--out", default=None, help="a .json file or a directory (default benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.rung, args.num_particles, args.step_sizes, args.repeats = "xor", 8, [0.05], 1
    target = make_target(RUNGS[args.rung].build())
    u = 0.5 * jax.random.normal(jax.random.key(0), (args.num_particles, target.dim))
    logdensity = lambda x: target.tempered_logdensity(x, args.beta)  # noqa: E731
    mass = jnp.ones(target.dim)
    length = 2**args.max_tree_depth - 1
    records = []
    for h in args.step_sizes:
        kernels = {
            f"nuts (depth cap {args.max_tree_depth})": blackjax.nuts(logdensity, h, mass, max_num_doublings=args.max_tree_depth),
            f"hmc ({length} steps)": blackjax.hmc(logdensity, h, mass, num_integration_steps=length),
        }
        for name, kernel in kernels.items():
            seconds, used, longest = time_move(kernel, u, jax.random.key(1), args.repeats)
            # vmapped, every particle runs until the longest trajectory is built
            record = {
                "kernel": name, "step_size": h, "num_particles": args.num_particles,
                "seconds_per_move": seconds, "mean_steps_used": used, "steps_computed": longest,
                "seconds_per_computed_step": seconds / (args.num_particles * longest),
            }
            records.append(record)
            print(f"[nuts_overhead] h={h:g} {name}: {seconds:.3f} s per move of {args.num_particles} particles, "
                  f"mean steps used {used:.1f}, computed {longest:.0f}", file=sys.stderr, flush=True)
    meta = machine_info() | {
        "tiny": args.tiny, "rung": args.rung, "num_params": target.dim, "beta": args.beta,
        "max_tree_depth": args.max_tree_depth, "repeats": args.repeats,
    }
    save_results(args.out, "nuts-overhead", "nuts-overhead", meta, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
