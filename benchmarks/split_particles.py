"""One population split over devices (``cn.SMC(split_particles=True)``): memory per device and time.

Usage
-----
    python benchmarks/split_particles.py                               # xor and moons, N = 1e3, 1e4, 1e5
    python benchmarks/split_particles.py --rungs moons --particles 100000 --batch-size 1000
    python benchmarks/split_particles.py --tiny --out /tmp/bench        # the harness test

Memory: for each rung and population size N (one population, ``batch_size`` B), the
``smc`` programs are compiled for one device holding the whole population and for the
population split over every device, and XLA's own account of each compiled program is
read (``memory_analysis()``: arguments, outputs and temporaries, per device for a
partitioned program). ``peak_mb`` is the largest ``arguments + outputs + temporaries −
aliased`` over the tempering stage's programs (initialisation, reweighting with its
resampling, the NUTS moves, the update): what one device must hold at once while a
program runs, compiled, not sampled (no run needed, so N = 10⁵ costs seconds). On a
CPU the devices share the host's memory, so a resident-set measurement cannot show the
split; this can, and it is the same account a GPU's allocator follows.

Time (``--time N``): ``cn.sample`` on each rung with one population of N particles,
unsplit and split, the second call of each (the first compiles), in this process.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

PROGRAMS = ("init", "reweight", "mutate", "update")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rungs", nargs="+", default=["xor", "moons"], choices=["xor", "moons"])
    parser.add_argument("--particles", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--time", type=int, default=10000, help="N of the timed runs (0: none)")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.tiny:
        args.rungs, args.particles, args.batch_size, args.time = ["xor"], [64, 256], 32, 64
    return args


def program_memory(problem, num_particles: int, batch_size: int, split: bool) -> dict:
    """Per-device bytes of each compiled tempering program (XLA's memory analysis)."""
    import jax
    import jax.numpy as jnp
    from jax.sharding import NamedSharding, PartitionSpec

    import consistent_nets as cn
    from consistent_nets._target import make_target
    from consistent_nets.samplers.smc_programs import particle_mesh, smc_programs

    config = cn.SMC(batch_size=batch_size, split_particles=split)
    target = make_target(problem)
    mesh = particle_mesh() if split else None
    programs = smc_programs(config, target, num_particles, mesh)
    keys = jax.random.split(jax.random.key(0), 1)

    def lower(name, *xs):  # Target.jit's programs are partial(jitted, data)
        p = programs[name]
        return p.lower(*xs) if hasattr(p, "lower") else p.func.lower(*p.args, *xs)

    def shapes(name, *xs):  # output shapes, nothing computed
        return jax.tree.map(lambda o: jax.ShapeDtypeStruct(o.shape, o.dtype), lower(name, *xs).out_info)

    shape = shapes("init", keys)

    def spec(s, split_axis):
        sharding = None
        if mesh is not None:
            sharding = NamedSharding(mesh, PartitionSpec(None, "particles") if split_axis else PartitionSpec())
        return jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding)

    per_particle = {"u", "penalty", "in_set", "log_weights"}
    state = type(shape)(*(spec(getattr(shape, f), f in per_particle) for f in shape._fields))
    scalar = spec(jax.ShapeDtypeStruct((1,), jnp.float32), False)
    reweighted = shapes("reweight", keys, state)
    mass = spec(jax.ShapeDtypeStruct((1, state.u.shape[-1]), jnp.float32), False)  # (chain, dim)
    moved = shapes("mutate", keys, state.u, scalar, scalar, False, 2, 0.3, mass)
    arguments = {
        "init": (keys,),
        "reweight": (keys, state),
        "mutate": (keys, state.u, scalar, scalar, False, 2, 0.3, mass),
        "update": (state, reweighted, moved),
    }
    out = {}
    for name in PROGRAMS:
        stats = lower(name, *arguments[name]).compile().memory_analysis()
        total = (stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes
                 - stats.alias_size_in_bytes)
        out[name] = {"arguments": stats.argument_size_in_bytes, "outputs": stats.output_size_in_bytes,
                     "temporaries": stats.temp_size_in_bytes, "total": total}
    return out


def timed_runs(problem, num_particles: int, batch_size: int) -> list[dict]:
    import jax

    import consistent_nets as cn

    records = []
    for split in (False, True):
        method = cn.SMC(batch_size=min(batch_size, num_particles), split_particles=split)
        times = []
        for _ in range(2):
            start = time.perf_counter()
            tree = cn.sample(problem, method=method, num_samples=num_particles, num_chains=1,
                             rng_key=jax.random.key(0), progress_bar=False)
            times.append(time.perf_counter() - start)
        records.append({"split": split, "num_particles": num_particles, "first_call_s": times[0],
                        "second_call_s": times[1], "log_volume": float(tree.attrs["log_volume"]),
                        "ess": float(tree.attrs["ess"]), "num_stages": int(tree.attrs["num_stages"]),
                        "num_grad_evals": int(tree.attrs["num_grad_evals"])})
    return records


def main(argv=None) -> int:
    args = parse_args(argv)
    import jax

    from harness import machine_info, save_results
    from rungs import get_rung

    records = []
    for rung in args.rungs:
        problem = get_rung(rung).build()
        for n in args.particles:
            n -= n % jax.device_count()
            for split in (False, True):
                programs = program_memory(problem, n, min(args.batch_size, n), split)
                peak = max(p["total"] for p in programs.values())
                records.append({"rung": rung, "kind": "memory", "num_particles": n, "split": split,
                                "devices": jax.device_count() if split else 1, "batch_size": args.batch_size,
                                "num_params": problem.num_params, "population_mb": 4 * n * problem.num_params / 1e6,
                                "peak_mb": peak / 1e6, "programs": programs})
                print(f"  {rung} N={n} split={split}: {peak / 1e6:.1f} MB per device "
                      f"({max(programs, key=lambda k: programs[k]['total'])})", file=sys.stderr, flush=True)
        if args.time:
            for record in timed_runs(problem, args.time - args.time % jax.device_count(), args.batch_size):
                records.append({"rung": rung, "kind": "time"} | record)
                print(f"  {rung} N={args.time} split={record['split']}: {record['second_call_s']:.2f} s",
                      file=sys.stderr, flush=True)
    meta = machine_info() | {"tiny": args.tiny, "load_average": os.getloadavg()}
    save_results(args.out, "split-particles", "split-particles", meta, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
