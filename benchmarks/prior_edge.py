"""Prior draws at a box's edge: which runs held one, and what it did to the first stages.

A float32 uniform is exactly its lower end with probability 2^-23; a box prior's edge is
an infinite coordinate in NumPyro's unconstrained space. Since b82cffb the library draws
such a particle again (``finite_prior_draws``); before, a population holding one had a
NaN variance, and the population that moves with it (``mass="other"``) diverged on every
move while the particle survived (BENCHMARKS.md, "Which teacher results held a prior draw
at the box's edge").

For each key: ``cn.SMC(num_particles=N).start`` with the draws as before the fix
(``--draws old``: no redraw) or as now (``--draws new``), then ``--stages`` stages of
``advance``, recording per population the particles with a non-finite coordinate before
and after each stage, the moves' acceptance and divergent moves, distinct ancestors and
the whitened jump. ``--key-kind ladder`` takes the keys the ladder and ``smc_variants.py``
use for ``smc`` (``method_key(seed, "smc")``); ``plain`` takes ``jax.random.key(seed)``,
as ``volume_bias.py`` does; ``bounds`` the forward run's key of ``cn.bound_log_volume`` with
``rng_key=jax.random.key(seed)``, as ``bounds.py --seed`` gives it (its teacher is the rung's).

    python benchmarks/prior_edge.py --rung teacher --num-particles 500 --key-kind ladder \\
        --seeds 0 1 2 3 4 --draws old --stages 3
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import jax  # noqa: E402
import numpy as np  # noqa: E402

import consistent_nets as cn  # noqa: E402
from benchmarks.harness import machine_info, save_results  # noqa: E402
from benchmarks.rungs import RUNGS, get_rung  # noqa: E402
from consistent_nets._target import make_target  # noqa: E402
from consistent_nets.samplers import population  # noqa: E402
from methods import method_key  # noqa: E402

FIELDS = ("acceptance", "num_divergent", "num_ancestors", "jump")
#: each key kind's key for a seed (``bounds``: the first of the three ``cn.bound_log_volume`` splits)
KEYS = {
    "ladder": lambda seed: method_key(seed, "smc"),
    "plain": jax.random.key,
    "bounds": lambda seed: jax.random.split(jax.random.key(seed), 3)[0],
}


def non_finite(run) -> list[int]:
    """Particles per population with a non-finite unconstrained coordinate."""
    u = np.asarray(run.states.u)
    return (~np.isfinite(u).all(axis=2)).sum(axis=1).tolist()


def trace(target, smc, key, num_populations, stages) -> dict:
    run = smc.start(target, key, smc.num_particles * num_populations, num_populations)
    record = {"non_finite": [non_finite(run)], **{f: [] for f in FIELDS}}
    for stage in range(stages):
        if smc.stop(run):
            break
        run, info = smc.advance(run, stage)
        record["non_finite"].append(non_finite(run))
        for f in FIELDS:
            record[f].append(np.asarray(getattr(info, f), dtype=np.float64).round(4).tolist())
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rung", choices=list(RUNGS), default="teacher")
    parser.add_argument("--num-particles", type=int, default=500)
    parser.add_argument("--populations", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--key-kind", choices=tuple(KEYS), default="ladder")
    parser.add_argument("--draws", choices=("old", "new"), default="old",
                        help="old: the prior draws before b82cffb (no redraw); new: the library's")
    parser.add_argument("--stages", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="XOR, 8 particles, one stage: checks the harness")
    parser.add_argument("--out", default=None, help="a .json file or a directory (default benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.rung, args.num_particles, args.seeds, args.stages = "xor", 8, [0], 1
    machine = machine_info()
    if args.draws == "old":
        redraw = population.finite_prior_draws
        population.finite_prior_draws = lambda target, keys, max_redraws=8: redraw(target, keys, 0)
    target = make_target(get_rung(args.rung).build())
    smc = cn.SMC(num_particles=args.num_particles)
    records = []
    for seed in args.seeds:
        key = KEYS[args.key_kind](seed)
        records.append({"seed": seed, **trace(target, smc, key, args.populations, args.stages)})
        print(f"[prior_edge] seed {seed}: non-finite particles per population {records[-1]['non_finite'][0]}",
              file=sys.stderr, flush=True)
    meta = machine | {"rung": args.rung, "num_particles": args.num_particles, "populations": args.populations,
                      "seeds": args.seeds, "key_kind": args.key_kind, "draws": args.draws,
                      "stages": args.stages, "tiny": args.tiny}
    save_results(args.out, f"prior-edge-{args.rung}-{args.draws}", "prior-edge", meta, records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
