"""Populations over every device of every process (JAX's multi-controller runtime).

After the user's ``jax.distributed.initialize(...)`` every process runs the same
``cn.sample(...)`` call. ``jax.devices()`` then lists the devices of all processes, and
the samplers' programs, vectorised over independent populations (chains), run as one
SPMD program whose chain axis is split over those devices (:func:`place_chains`). The
populations never talk to each other: what crosses processes is

* the small per-stage records and the final populations, gathered so that every process
  holds the whole result (:func:`device_get`),
* the decision to stop, taken by process 0 (:func:`agree`), so that a wall-clock budget
  cannot stop one process a stage before another, and
* for ``rejection``, the per-chunk acceptance counts and the accepted draws
  (:mod:`.rejection_rounds`).

Every process therefore returns the same tree, and it is the tree one process returns
for the same key and number of populations: the keys of population ``c`` and of prior
chunk ``i`` do not depend on the layout. With one process every function here is the
identity or a no-op, so the single-process path is unchanged.
"""

from __future__ import annotations

import contextlib
import warnings

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding, PartitionSpec

__all__ = [
    "is_distributed", "is_main", "chain_sharding", "place_chains", "device_get", "agree", "allgather", "quiet_unless_main",
    "check_method", "bytes_gathered", "per_device",
]

#: methods that run across processes (``sgd`` and ``anneal`` do not yet)
METHODS_OVER_PROCESSES = ("smc", "rejection")
#: longest stop reason :func:`agree` carries
_REASON_BYTES = 64
#: bytes this process received from other processes' devices (see :func:`bytes_gathered`)
_GATHERED = [0]


def bytes_gathered() -> int:
    """Bytes this process has gathered from other processes' devices so far.

    Counts what :func:`device_get` and :func:`allgather` bring in (the whole gathered
    array less this process's own share); the benchmarks read it to measure the
    communication of a run.
    """
    return _GATHERED[0]


def is_distributed() -> bool:
    """Whether more than one JAX process takes part (``jax.distributed.initialize``)."""
    return jax.process_count() > 1


def is_main() -> bool:
    """Whether this is process 0, the one that shows progress and warnings."""
    return jax.process_index() == 0


def check_method(name: str) -> None:
    """``ValueError`` for a method that cannot run across processes (before compiling)."""
    if is_distributed() and name not in METHODS_OVER_PROCESSES:
        raise ValueError(
            f"method {name!r} does not run across {jax.process_count()} processes: use one of "
            f"{list(METHODS_OVER_PROCESSES)}, or call cn.sample without jax.distributed.initialize"
        )


def chain_sharding(num_chains: int) -> NamedSharding | None:
    """The chain axis split over every device (of every process), or ``None`` with one
    device or when ``num_chains`` is not a multiple of the number of devices."""
    devices = jax.devices()
    if len(devices) < 2 or num_chains % len(devices):
        return None
    mesh = jax.make_mesh((len(devices),), ("chains",), axis_types=(jax.sharding.AxisType.Auto,))
    return NamedSharding(mesh, PartitionSpec("chains"))


def place_chains(tree, num_chains: int):
    """Split the leading chain axis of every array over all devices of all processes.

    Each process holds the same values (keys and initial states are computed from the
    same key everywhere); :func:`jax.make_array_from_callback` keeps only the rows of
    this process's devices. When ``num_chains`` is not a multiple of the number of
    devices the arrays stay local and every process computes every population (same
    result, no speed-up).
    """
    sharding = chain_sharding(num_chains)
    if sharding is None:
        return tree

    def place(a):
        if getattr(a, "ndim", 0) < 1 or a.shape[0] != num_chains:
            return a
        if _is_key(a):
            data = place(jax.random.key_data(a))
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(a))
        host = np.asarray(a)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    return jax.tree.map(place, tree)


def per_device(programs: dict) -> dict:
    """Programs that every device runs on its own populations, with no communication.

    Over several processes each program (a function vectorised over populations) is
    wrapped in :func:`jax.shard_map` over the chain axis of :func:`place_chains`: a
    device runs its populations' loops (NUTS trees, move counts) to their own ends. Left
    to XLA's partitioner, a vectorised loop would run in lockstep over all devices, with
    an all-reduce of its condition at every iteration, across processes. With one process
    the programs are returned unchanged.
    """
    if not is_distributed():
        return programs
    return {name: _PerDevice(fn) for name, fn in programs.items()}


class _PerDevice:
    """``fn`` under ``shard_map`` over the ``"chains"`` mesh of its chain-split arguments."""

    def __init__(self, fn):
        self.fn, self.compiled = fn, {}

    def __call__(self, *args):
        leaves, treedef = jax.tree.flatten(args)
        split = [isinstance(a, jax.Array) and not a.is_fully_addressable for a in leaves]
        if not any(split):  # populations not spread over processes: every process runs them all
            return self.fn(*args)
        mesh = next(a.sharding.mesh for a, s in zip(leaves, split) if s)
        specs = tuple(PartitionSpec("chains") if s else PartitionSpec() for s in split)
        key = (treedef, specs, id(mesh))
        if key not in self.compiled:
            # a program from Target.jit: compile its function once, under shard_map, with
            # its compiler options on the outer jax.jit (JAX refuses them on a nested one)
            fn = getattr(self.fn, "unjitted", self.fn)

            def local(*flat):
                return fn(*jax.tree.unflatten(treedef, flat))

            self.compiled[key] = jax.jit(
                jax.shard_map(local, mesh=mesh, in_specs=specs, out_specs=PartitionSpec("chains"), check_vma=False),
                compiler_options=getattr(self.fn, "compiler_options", None),
            )
        return self.compiled[key](*leaves)


def device_get(tree):
    """:func:`jax.device_get`, with arrays split over processes gathered first.

    Arrays spread over several processes are replicated by one compiled identity (an
    all-gather over the chain axis) and read from a local device, so every process gets
    the full value; everything else goes through :func:`jax.device_get` unchanged.
    """
    leaves, treedef = jax.tree.flatten(tree)
    spread = [i for i, a in enumerate(leaves) if isinstance(a, jax.Array) and not a.is_fully_addressable]
    if spread:
        leaves_in = list(leaves)
        arrays = [leaves[i] for i in spread]
        replicated = [NamedSharding(a.sharding.mesh, PartitionSpec()) for a in arrays]
        gathered = jax.jit(lambda xs: xs, out_shardings=replicated)(arrays)
        for i, a in zip(spread, gathered):
            leaves[i] = a.addressable_data(0)
            own = sum(shard.data.nbytes for shard in leaves_in[i].addressable_shards)
            _GATHERED[0] += a.nbytes - own
    return jax.device_get(jax.tree.unflatten(treedef, leaves))


def agree(reason: str | None) -> str | None:
    """Process 0's stop reason on every process (one small broadcast per stage).

    Budgets in wall-clock time are read on each process's own clock; without this a
    process could leave the loop a stage before the others and the collectives of the
    next stage would wait for it forever.
    """
    if not is_distributed():
        return reason
    text = np.zeros(_REASON_BYTES, dtype=np.uint8)
    encoded = np.frombuffer((reason or "").encode()[:_REASON_BYTES], dtype=np.uint8)
    text[: encoded.size] = encoded
    agreed = bytes(np.asarray(multihost_utils.broadcast_one_to_all(text), dtype=np.uint8)).rstrip(b"\0").decode()
    return agreed or None


def allgather(array: np.ndarray) -> np.ndarray:
    """Every process's ``array`` (same shape everywhere), stacked: ``(process, ...)``."""
    out = np.asarray(multihost_utils.process_allgather(np.asarray(array)))
    _GATHERED[0] += out.nbytes - np.asarray(array).nbytes
    return out


@contextlib.contextmanager
def quiet_unless_main():
    """Silence warnings on every process but process 0 (which warns for all)."""
    if is_main():
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _is_key(a) -> bool:
    return jax.dtypes.issubdtype(getattr(a, "dtype", np.float32), jax.dtypes.prng_key)
