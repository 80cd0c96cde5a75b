"""``cn.sample`` over two processes returns, on each, the tree of one process.

Two local CPU processes of one device each join a ``jax.distributed`` job (gloo
collectives); this process, with the suite's two devices, computes the same cases alone.
Either way each device holds 2 of the 4 populations, and the trees must be identical
(values, coordinates and attrs of every group) — bit for bit, not to a tolerance. (XLA
compiles a device's share of the populations for its shape, so a layout with another
number of populations per device rounds differently in the last bits and, SMC's
accept/reject steps being discontinuous, returns another sample of the same target: see
the README's "Beyond one machine".) The two-process jobs are background jobs
(``tests/background.py``: ``distributed_worker.py --launch 2``), started when collection
ends; sizes are tiny, most of their time is compiling.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import jax
import numpy as np
import pytest
import xarray as xr

import background
import consistent_nets as cn
from consistent_nets.samplers import distributed
from consistent_nets.samplers.processes import over_processes

sys.path.insert(0, str(Path(__file__).parent))
import distributed_worker  # noqa: E402

WORKER = Path(distributed_worker.__file__)
#: every case, the split population's included (one job: one start-up and compile per process)
CASES = (*distributed_worker.DEFAULT_CASES, "xor-smc-split")
TWO = background.register("distributed-two-processes", sys.executable, WORKER, "{out}", "--launch", "2",
                          "--cases", ",".join(CASES), CI="true")  # the suite's flags; the launcher sets one device
#: XLA's default flags: the library compiles small problems with its own options
TWO_DEFAULT_FLAGS = background.register("distributed-default-flags", sys.executable, WORKER, "{out}", "--launch",
                                        "2", "--cases", "xor-smc", CI="true", XLA_FLAGS="")


def _without_warning_count(tree):
    tree.attrs.pop("warnings_seen", None)
    return tree


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """The folder of every case's tree computed in this process alone (2 devices)."""
    assert jax.device_count() == 2  # the suite's two devices: 2 populations per device, as in the job
    out = tmp_path_factory.mktemp("one")
    distributed_worker.main([str(out), "--cases", ",".join(CASES)])
    return out


@pytest.mark.background(TWO)
def test_two_processes_return_the_one_process_tree(alone):
    two = background.done(TWO)
    for case in distributed_worker.DEFAULT_CASES:
        one = xr.open_datatree(alone / f"{case}-0.nc")
        assert one.attrs["warnings_seen"] == 0, case  # a healthy run: no warning to lose
        for rank in range(2):
            tree = xr.open_datatree(two / f"{case}-{rank}.nc")
            assert _without_warning_count(tree).identical(_without_warning_count(one)), f"{case}, process {rank}"
    for rank in range(2):  # methods that do not run across processes say so, on every process
        message = (two / f"anneal-{rank}.txt").read_text()
        assert "'anneal' does not run across 2 processes" in message


@pytest.mark.background(TWO)
def test_two_processes_split_one_population_as_one_process_does(alone):
    """``split_particles=True``: every population's particles over the devices of both
    processes (one each) is the run of one process over its two devices, bit for bit."""
    two = background.done(TWO)
    one = _without_warning_count(xr.open_datatree(alone / "xor-smc-split-0.nc"))
    assert bool(one.sample_stats["in_set"].all())
    for rank in range(2):
        tree = _without_warning_count(xr.open_datatree(two / f"xor-smc-split-{rank}.nc"))
        assert tree.identical(one), f"process {rank}"


@pytest.mark.background(TWO_DEFAULT_FLAGS)
def test_two_processes_with_the_library_compiler_options():
    """Under XLA's default flags the library compiles small problems with its own options
    (``jax.jit(..., compiler_options=...)``), which JAX accepts only on the outermost jit:
    the per-device programs must carry them, and both processes return one tree."""
    two = background.done(TWO_DEFAULT_FLAGS)
    first, second = (_without_warning_count(xr.open_datatree(two / f"xor-smc-{r}.nc")) for r in range(2))
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
