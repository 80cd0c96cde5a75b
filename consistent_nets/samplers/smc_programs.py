"""The compiled pieces of ``smc``: vectorised over populations, on one device or several.

Every piece is a kernel function of :mod:`.tempered` or :mod:`.restricted`, ``vmap``-ed
over independent populations and compiled once per shape (shared across problems that
differ only in their data, ``Target.jit``). How they meet the devices:

* by default the chain axis is what is split: populations are placed over the devices
  (:func:`.population.shard_chains`; over processes, each program runs under
  ``shard_map`` per device, :func:`.distributed.per_device`);
* with ``cn.SMC(split_particles=True)`` every population's particles are split over all
  devices (of all processes) instead: each kernel program runs under :func:`jax.shard_map`
  over a one-axis mesh ``"particles"``, with the kernels' collectives on that axis
  (:mod:`.particles`). Per-particle arrays are split along their particle axis, the
  rest (beta, log Z, step size, per-stage records) is the same on every device.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from functools import partial

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from . import distributed, restricted, tempered
from .moves import MoveInfo
from .particles import AXIS
from .population import shard_chains
from .tempering import population_scale

__all__ = ["smc_programs", "particle_mesh", "place_keys", "place_populations", "move_masses"]

_SPLIT = PartitionSpec(None, AXIS)  # (chain, particle, ...)
_SAME = PartitionSpec()
_STATE = tempered.SMCState(*(_SPLIT if f in ("u", "penalty", "in_set", "log_weights") else _SAME for f in tempered.SMCState._fields))
_REWEIGHTED = tempered.Reweighted(*(_SPLIT if f in ("log_weights", "u", "ancestors") else _SAME for f in tempered.Reweighted._fields))
_MOVED = (_SPLIT, _SAME, MoveInfo(*(_SAME for _ in MoveInfo._fields)))
_SPECS = {  # name: (in_specs, out_specs)
    "init": ((_SAME,), _STATE),
    "reweight": ((_SAME, _STATE), _REWEIGHTED),
    "mutate": ((_SAME, _SPLIT, _SAME, _SAME, _SAME, _SAME, _SAME, _SAME), _MOVED),
    "update": ((_STATE, _REWEIGHTED, _MOVED), (_STATE, _SAME)),
    "select": ((_SAME, _STATE), (_SPLIT, _SAME, _SAME, _SPLIT)),
    "final": ((_STATE, _SAME, _MOVED), (_STATE, _SAME)),
}
_SPECS["final_mutate"] = _SPECS["mutate"]  # the same move, compiled for another kernel


def particle_mesh():
    """The devices of every process on one mesh axis, ``"particles"`` (``None`` with one device)."""
    if jax.device_count() < 2:
        return None
    return jax.make_mesh((jax.device_count(),), (AXIS,), axis_types=(jax.sharding.AxisType.Auto,))


def place_keys(keys, num_chains: int, mesh):
    """Per-population keys where the programs want them, as ``place_populations`` places arrays."""
    if mesh is None:
        return shard_chains(keys, num_chains)
    data = place_populations(jax.random.key_data(keys), num_chains, mesh)
    return jax.random.wrap_key_data(data, impl=jax.random.key_impl(keys))


def place_populations(array, num_chains: int, mesh):
    """A host array with a leading population axis where the programs want it: split over
    the devices with the chains, or whole on every device when the particles are split."""
    array = np.asarray(array)
    if mesh is None:
        return shard_chains(array, num_chains)
    if not distributed.is_distributed():
        return array
    return jax.make_array_from_callback(array.shape, NamedSharding(mesh, _SAME), lambda index: array[index])


def move_masses(config, scale, u, num_chains: int, mesh):
    """The diagonal inverse masses the populations' moves use, from each population's own
    per-coordinate variance, ``scale(u)`` (the ``"scale"`` program; read to the host): with
    ``config.mass == "other"`` population ``c`` takes population ``c + 1``'s (cyclically),
    so no population's moves depend on its own particles; with one population, or
    ``"own"``, its own. Returns the placed masses and the host copy (what the schedule
    records)."""
    own = np.asarray(distributed.device_get(scale(u)))
    used = np.roll(own, -1, axis=0) if config.mass == "other" and own.shape[0] > 1 else own
    return place_populations(used, num_chains, mesh), used


def smc_programs(config, target, num_particles: int, mesh=None) -> dict:
    """The kernels' pieces for ``num_particles`` particles per population.

    ``mutate`` (the NUTS moves, nearly all of the compile time) serves both kernels;
    ``final_mutate`` is that same program unless ``config.final_move`` is another move
    (compiled at its first call; :func:`final_program` chooses).
    ``mesh`` (from :func:`particle_mesh`) splits each population over its devices;
    ``num_particles`` is then the whole population and must be a multiple of the
    number of devices (checked by ``SMC.check_sizes`` before anything compiles).
    """
    axis = None if mesh is None else AXIS
    if mesh is not None and num_particles % mesh.size:
        raise ValueError(f"num_particles ({num_particles}) must be a multiple of the {mesh.size} devices")
    n_local = num_particles if mesh is None else num_particles // mesh.size
    split = ("split", mesh.size) if mesh is not None else ()
    on_chains = partial(jax.vmap, in_axes=(0, 0, 0, 0, None, None, None, 0))

    def mutate(cfg):
        return target.jit(lambda t: on_chains(partial(tempered.mutate, t, cfg, axis_name=axis)), ("smc-mutate", cfg, *split))

    programs = {
        "init": target.jit(
            lambda t: jax.vmap(partial(tempered.init, t, config, num_particles=n_local, axis_name=axis)),
            ("smc-init", config, n_local, *split),
        ),
        "reweight": target.jit(
            lambda t: jax.vmap(partial(tempered.reweight, config, axis_name=axis)), ("smc-reweight", config, *split)
        ),
        "mutate": mutate(config),
        "update": target.jit(
            lambda t: jax.vmap(partial(tempered.update, t, config, axis_name=axis)), ("smc-update", config, *split)
        ),
        "select": target.jit(lambda t: jax.vmap(partial(restricted.select, axis_name=axis)), ("smc-select", *split)),
        "final": target.jit(
            lambda t: jax.vmap(partial(restricted.update, t, batch_size=config.batch_size, axis_name=axis)),
            ("smc-final", config.batch_size, *split),
        ),
    }
    if config.final_move != config.kernel:  # the final phase's moves, when another kernel is asked for there
        programs["final_mutate"] = mutate(dataclasses.replace(config, kernel=config.final_move))
    small = {  # the next keys, and the mass matrix the schedule records
        "fold": jax.jit(jax.vmap(jax.random.fold_in, in_axes=(0, None))),
        "scale": jax.jit(jax.vmap(population_scale)),
    }
    if mesh is None:  # over processes: shard_map per device
        out = distributed.per_device(programs | small)
    else:
        out = {name: _over_particles(fn, mesh, *_SPECS[name]) for name, fn in programs.items()} | small
    return {"final_mutate": out["mutate"]} | out


def final_program(config, programs, infos, num_particles: int):
    """The final phase's kernel and its program after the tempering stages ``infos``:
    ``config.final_move``, except that ``final_kernel="auto"`` keeps NUTS unless its trees
    saturated in the last stage (>= 90 % of the cap's steps a move; without a stage, not).
    ``final_mutate`` compiles at its first call, so a kernel not chosen never compiles."""
    steps = tempered.steps_per_move(infos, num_particles)
    saturated = steps >= 0.9 * (2**config.max_tree_depth - 1)  # False for NaN
    kernel = config.final_move if config.final_kernel != "auto" or saturated else config.kernel
    return kernel, programs["mutate" if kernel == config.kernel else "final_mutate"]


def _over_particles(program, mesh, in_specs, out_specs):
    """``program`` (from ``Target.jit``: ``partial(jitted, data)``) under ``shard_map`` over
    the particle axis, the data passed to every device whole; its compiler options on the
    outer ``jax.jit`` (JAX refuses them on a nested one). Compiled once per program and
    mesh, so a second ``cn.sample`` (or another dataset of the same shapes) reuses it."""
    jitted, data = program.func, program.args
    key = (jitted, mesh)
    fn = _SPLIT_PROGRAMS.get(key)
    if fn is None:
        specs = (_SAME,) * len(data) + tuple(in_specs)
        inner = jax.shard_map(jitted.__wrapped__, mesh=mesh, in_specs=specs, out_specs=out_specs, check_vma=False)
        fn = jax.jit(inner, compiler_options=program.compiler_options)
        if data:  # a program shared across data (Target.jit's cache); others are made afresh each call
            _SPLIT_PROGRAMS[key] = fn
            while len(_SPLIT_PROGRAMS) > _SPLIT_PROGRAMS_MAX:
                _SPLIT_PROGRAMS.popitem(last=False)
    if distributed.is_distributed():  # host values: the same on every process, replicated over the mesh
        data = jax.tree.map(np.asarray, data)
    return partial(fn, *data)


#: compiled split programs by (program, mesh), least recently made first
_SPLIT_PROGRAMS: OrderedDict = OrderedDict()
_SPLIT_PROGRAMS_MAX = 64
