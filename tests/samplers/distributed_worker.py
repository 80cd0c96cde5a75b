"""One process of a multi-process ``cn.sample`` run, for ``test_distributed.py``.

``python distributed_worker.py OUT --num-processes P --process-id I --port PORT``
joins a ``jax.distributed`` job of ``P`` local CPU processes (gloo collectives) and
writes every case's tree to ``OUT/<case>-<I>.nc``; with ``--num-processes 1`` it runs
alone, without ``jax.distributed``. ``python distributed_worker.py OUT --launch P``
starts the ``P`` processes of such a job on a free local port (one device each) and
exits 0 when all of them did (the test's background job). Sizes are tiny: the test
compares trees, not statistics.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time
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


def launch(out: Path, num_processes: int, cases: str, timeout: float = 540.0) -> int:
    """Run the ``num_processes`` processes of one job, one device each; 0 if all succeeded
    (its own deadline, before the test job's, so that no worker outlives it)."""
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    flags = re.sub(r"--xla_force_host_platform_device_count=\d+", "", os.environ.get("XLA_FLAGS", ""))
    env = os.environ | {"XLA_FLAGS": f"{flags} --xla_force_host_platform_device_count=1"}
    workers = [
        subprocess.Popen([sys.executable, __file__, str(out), "--num-processes", str(num_processes),
                          "--process-id", str(i), "--port", str(port), "--cases", cases],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
        for i in range(num_processes)
    ]
    deadline = time.monotonic() + timeout
    outputs = []
    try:  # a process whose peer died waits in a collective: end them all by the deadline
        for w in workers:
            outputs.append(w.communicate(timeout=max(1.0, deadline - time.monotonic()))[0])
    except subprocess.TimeoutExpired:
        print(f"killed after {timeout} s", file=sys.stderr)
    finally:
        for w in workers:
            w.kill()
    outputs += [w.communicate()[0] for w in workers[len(outputs):]]  # what the killed ones wrote, e.g. why a peer died
    for i, (w, output) in enumerate(zip(workers, outputs)):
        if w.returncode != 0:
            print(f"process {i} exited {w.returncode}:\n{output[-3000:]}", file=sys.stderr)
    return max(abs(w.returncode) for w in workers)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--num-processes", type=int, default=1)
    parser.add_argument("--process-id", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES))
    parser.add_argument("--launch", type=int, default=0, metavar="P", help="start the P processes of a job")
    args = parser.parse_args(argv)
    if args.launch:
        return launch(args.out, args.launch, args.cases)

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
    sys.exit(main())
