"""XLA's CPU pipeline options for ``smc``'s NUTS move: compile time against run time.

Usage
-----
    python benchmarks/xla_options.py                      # xor, moons, digits; 3 alternating repeats
    python benchmarks/xla_options.py --rungs xor --repeats 5
    python benchmarks/xla_options.py --tiny --out /tmp/bench   # the harness test

For each rung, in one process, ``smc``'s programs are built once per option set (the
library's ``consistent_nets._compile`` picks the options; here each set is forced in
turn): ``default`` (XLA's defaults), ``level1`` (``xla_backend_optimization_level=1``,
``xla_llvm_disable_expensive_passes``: the library's choice for problems up to
``SMALL_WORK``) and ``level0`` (level 0, same flag: what the tests use globally). The
first call of the move program (500 particles x 4 chains, the first tempering stage)
is compile plus run; then the variants' calls alternate ``--repeats`` times on the
same inputs, so load drifts hit all alike. Seconds per NUTS move is the comparable run
time (the variants round differently, so their adaptive number of moves can differ).

Writes ``xla-options.json``.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
os.environ.setdefault("CONSISTENT_NETS_CACHE", "0")  # time compiles, not cache reads

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import consistent_nets as cn  # noqa: E402
from consistent_nets import _target  # noqa: E402
from consistent_nets.extend import make_target  # noqa: E402
from consistent_nets.samplers import smc_programs  # noqa: E402
from consistent_nets.samplers.population import shard_chains  # noqa: E402
from harness import machine_info, save_results  # noqa: E402
from rungs import RUNGS  # noqa: E402

VARIANTS = {
    "default": None,
    "level1": {"xla_backend_optimization_level": 1, "xla_llvm_disable_expensive_passes": True},
    "level0": {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True},
}


def programs(target, options, num_particles):
    """``smc``'s programs for ``target`` compiled with ``options`` (forced for every size)."""
    _target.compiler_options = lambda work: None if options is None else dict(options)
    return smc_programs.smc_programs(cn.SMC(), target, num_particles)


def move(p, state, reweighted):
    mass = p["scale"](reweighted.u)  # each population's own: the programs' work does not depend on it
    out = p["mutate"](reweighted.move_key, reweighted.u, reweighted.beta, state.step_size, False, cn.SMC().max_moves,
                     cn.SMC().jump_target, mass)
    jax.block_until_ready(out)
    return int(np.sum(np.asarray(out[2].num_moves)))


def run_rung(name, num_particles, repeats):
    problem = RUNGS[name].build()
    target = make_target(problem)
    keys = shard_chains(jax.random.split(jax.random.key(0), 4), 4)
    built, records = {}, []
    for variant, options in VARIANTS.items():
        p = programs(target, options, num_particles)
        state = p["init"](keys)
        reweighted = p["reweight"](p["fold"](keys, 0), state)
        start = time.perf_counter()
        moves = move(p, state, reweighted)
        built[variant] = (p, state, reweighted)
        records.append({"rung": name, "variant": variant, "call": "first", "seconds": time.perf_counter() - start,
                        "moves": moves, "load_1min": os.getloadavg()[0]})
    for repeat in range(repeats):
        for variant, (p, state, reweighted) in built.items():
            start = time.perf_counter()
            moves = move(p, state, reweighted)
            seconds = time.perf_counter() - start
            records.append({"rung": name, "variant": variant, "call": repeat, "seconds": seconds, "moves": moves,
                            "seconds_per_move": seconds / max(moves, 1), "load_1min": os.getloadavg()[0]})
    for r in records:
        print(f"[xla_options] {r['rung']:<7} {r['variant']:<8} {str(r['call']):<5} {r['seconds']:7.2f} s "
              f"{r['moves']:3d} moves  load {r['load_1min']:.1f}", file=sys.stderr)
    return records


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rungs", nargs="+", default=["xor", "moons", "digits"], choices=sorted(RUNGS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="xor, 64 particles per chain, one repeat")
    parser.add_argument("--out", help="a .json file or a directory (default benchmarks/results/)")
    args = parser.parse_args(argv)
    rungs, particles, repeats = (["xor"], 64, 1) if args.tiny else (args.rungs, 500, args.repeats)
    records = [r for name in rungs for r in run_rung(name, particles, repeats)]
    meta = machine_info() | {"tiny": args.tiny, "num_particles": particles, "num_chains": 4, "repeats": repeats,
                             "variants": VARIANTS}
    save_results(args.out, "xla-options", "xla-options", meta, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
