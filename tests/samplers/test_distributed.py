"""``cn.sample`` over two processes returns, on each, the tree of one process.

Two local CPU processes of one device each join a ``jax.distributed`` job (gloo
collectives); this process, with the suite's two devices, computes the same cases alone
meanwhile. Either way each device holds 2 of the 4 populations, and the trees must be
identical (values, coordinates and attrs of every group) — bit for bit, not to a
tolerance. (XLA compiles a device's share of the populations for its shape, so a layout
with another number of populations per device rounds differently in the last bits and,
SMC's accept/reject steps being discontinuous, returns another sample of the same
target: see the README's "Beyond one machine".) Sizes are tiny; the test takes well
under a minute on two idle cores, most of it compiling.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import jax
import numpy as np
import pytest
import xarray as xr

import consistent_nets as cn
from consistent_nets.samplers import distributed
from consistent_nets.samplers.processes import over_processes

sys.path.insert(0, str(Path(__file__).parent))
import distributed_worker  # noqa: E402

WORKER = Path(distributed_worker.__file__)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _without_warning_count(tree):
    tree.attrs.pop("warnings_seen", None)
    return tree


def _start_workers(out, flags, *extra):
    port = _free_port()
    env = os.environ | {"CI": "true", "XLA_FLAGS": f"{flags} --xla_force_host_platform_device_count=1"}
    return [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(out), "--num-processes", "2", "--process-id", str(i), "--port", str(port),
             *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
        )
        for i in range(2)
    ]


def _finish(workers, meanwhile=lambda: None):
    """Run ``meanwhile`` here, wait for the workers and check that every one succeeded."""
    try:
        meanwhile()
        outputs = [w.communicate(timeout=600)[0] for w in workers]
    finally:
        for w in workers:
            w.kill()
    for w, out in zip(workers, outputs):
        assert w.returncode == 0, out[-3000:]


def test_two_processes_return_the_one_process_tree(tmp_path):
    assert jax.device_count() == 2  # the suite's two devices: 2 populations per device, as in the job
    flags = re.sub(r"--xla_force_host_platform_device_count=\d+", "", os.environ.get("XLA_FLAGS", ""))
    workers = _start_workers(tmp_path, flags)

    def alone():
        (tmp_path / "one").mkdir()
        distributed_worker.main([str(tmp_path / "one")])  # the same cases in this process, alone

    _finish(workers, alone)
    for case in distributed_worker.DEFAULT_CASES:
        one = xr.open_datatree(tmp_path / "one" / f"{case}-0.nc")
        assert one.attrs["warnings_seen"] == 0, case  # a healthy run: no warning to lose
        for rank in range(2):
            two = xr.open_datatree(tmp_path / f"{case}-{rank}.nc")
            assert _without_warning_count(two).identical(_without_warning_count(one)), f"{case}, process {rank}"
    for rank in range(2):  # methods that do not run across processes say so, on every process
        message = (tmp_path / f"anneal-{rank}.txt").read_text()
        assert "'anneal' does not run across 2 processes" in message


def test_two_processes_split_one_population_as_one_process_does(tmp_path):
    """``split_particles=True``: every population's particles over the devices of both
    processes (one each) is the run of one process over its two devices, bit for bit."""
    flags = re.sub(r"--xla_force_host_platform_device_count=\d+", "", os.environ.get("XLA_FLAGS", ""))
    workers = _start_workers(tmp_path, flags, "--cases", "xor-smc-split")

    def alone():
        (tmp_path / "one").mkdir()
        distributed_worker.main([str(tmp_path / "one"), "--cases", "xor-smc-split"])

    _finish(workers, alone)
    one = _without_warning_count(xr.open_datatree(tmp_path / "one" / "xor-smc-split-0.nc"))
    assert bool(one.sample_stats["in_set"].all())
    for rank in range(2):
        two = _without_warning_count(xr.open_datatree(tmp_path / f"xor-smc-split-{rank}.nc"))
        assert two.identical(one), f"process {rank}"


def test_two_processes_with_the_library_compiler_options(tmp_path):
    """Under XLA's default flags the library compiles small problems with its own options
    (``jax.jit(..., compiler_options=...)``), which JAX accepts only on the outermost jit:
    the per-device programs must carry them, and both processes return one tree."""
    _finish(_start_workers(tmp_path, "", "--cases", "xor-smc"))
    first, second = (_without_warning_count(xr.open_datatree(tmp_path / f"xor-smc-{r}.nc")) for r in range(2))
    assert first.identical(second) and bool(first.sample_stats["in_set"].all())


def test_one_process_is_unchanged(xor_problem):
    """Without jax.distributed every hook is the identity: same sampler, same arrays."""
    sampler = cn.Rejection()
    assert over_processes(sampler) is sampler
    tree = {"a": np.arange(4.0)}
    assert distributed.device_get(tree)["a"] is not None
    assert distributed.agree("done") == "done" and distributed.agree(None) is None
    assert distributed.is_main() and not distributed.is_distributed()
    distributed.check_method("anneal")  # only refused over several processes
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with distributed.quiet_unless_main():
            warnings.warn("seen on process 0", RuntimeWarning)
    assert len(caught) == 1


def test_device_get_reads_sharded_arrays():
    """The gather path on one process: an array split over the devices comes back whole."""
    x = jax.numpy.arange(8.0).reshape(4, 2)
    placed = distributed.place_chains({"x": x, "scalar": 1.0}, num_chains=4)
    got = distributed.device_get(placed)
    np.testing.assert_array_equal(got["x"], np.asarray(x))
    keys = distributed.place_chains(jax.random.split(jax.random.key(0), 4), 4)
    assert jax.random.key_data(keys).shape == (4, 2)


@pytest.mark.parametrize("reason", [None, "done", "max_seconds"])
def test_agree_round_trips_reasons(reason):
    assert distributed.agree(reason) == reason
