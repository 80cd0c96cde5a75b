"""One process of a multi-process ``cn.sample`` run, for ``test_distributed.py``.

``python distributed_worker.py OUT --num-processes P --process-id I --port PORT``
joins a ``jax.distributed`` job of ``P`` local CPU processes (gloo collectives) and
writes every case's tree to ``OUT/<case>-<I>.nc``; with ``--num-processes 1`` it runs
alone, without ``jax.distributed``. Sizes are tiny: the test compares trees, not
statistics.
"""

from __future__ import annotations

import argparse
import warnings
from dataclasses import replace
from pathlib import Path


#: the cases run when ``--cases`` is not given (the split population has its own test)
DEFAULT_CASES = ("xor-smc", "moons-smc", "xor-rejection")


def cases(cn):
    xor = cn.datasets.xor()
    moons = cn.datasets.moons(12, 0.1, 0)
    small = cn.SMC(kernel="hmc", max_tree_depth=3, max_moves=3, final_moves=3)
    box, margin = cn.BoxPrior(3.0), cn.Margin(0.0)
    return {
        "xor-smc": (cn.Problem(cn.MLP([2, 3, 1]), *xor, box, margin), small, 32, 3),
        "moons-smc": (cn.Problem(cn.MLP([2, 6, 1]), *moons, box, margin), small, 48, 4),
        "xor-rejection": (cn.Problem(cn.MLP([2, 3, 1]), *xor, box, margin), cn.Rejection(chunk_size=512), 40, 5),
        # every population's particles split over the devices of both processes
        "xor-smc-split": (cn.Problem(cn.MLP([2, 3, 1]), *xor, box, margin), replace(small, split_particles=True), 32, 6),
    }


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--num-processes", type=int, default=1)
    parser.add_argument("--process-id", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES))
    args = parser.parse_args(argv)

    import jax

    if args.num_processes > 1:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(f"localhost:{args.port}", args.num_processes, args.process_id)
    import consistent_nets as cn

    table = cases(cn)
    for name in args.cases.split(","):
        problem, method, num_samples, seed = table[name]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tree = cn.sample(problem, method=method, num_samples=num_samples, num_chains=4,
                             rng_key=jax.random.key(seed), progress_bar=False)
        tree.attrs["warnings_seen"] = len(caught)
        tree.to_netcdf(args.out / f"{name}-{args.process_id}.nc")
    if args.num_processes > 1:  # methods that do not run across processes say so
        try:
            cn.sample(table["xor-smc"][0], method="anneal", num_samples=8, rng_key=jax.random.key(0))
        except ValueError as error:
            (args.out / f"anneal-{args.process_id}.txt").write_text(str(error))
    print(f"process {args.process_id}: {jax.process_count()} processes, {jax.device_count()} devices, done")


if __name__ == "__main__":
    main()
