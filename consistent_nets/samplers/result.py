"""What every sampler returns: one result type, turned into a DataTree by ``_output``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

__all__ = ["Result", "Infeasible", "split_chains"]


@dataclass
class Result:
    """The draws of one ``cn.sample`` call and what the sampler knows about them.

    Attributes
    ----------
    posterior : dict[str, numpy.ndarray]
        Constrained weight sites, ``(chain, draw, *shape)``.
    sample_stats : dict[str, numpy.ndarray]
        Per-draw statistics ``(chain, draw)``; ``in_set`` is required.
    log_volume, log_volume_se : float
        The estimate of log vol(S) and its standard error (``nan`` where the method
        gives none, with a note in ``attrs["log_volume_note"]``; ``smc`` puts a note
        there too when its populations' estimates spread widely, see
        :func:`.population.log_volume_attrs`).
    complete : bool
        Whether every draw asked for was returned.
    note : str
        When not ``complete``: what was returned instead (the driver warns with it).
    attrs : dict
        Method-specific scalars (numbers or strings) for the tree's attrs.
    stages : dict[str, tuple[tuple[str, ...], numpy.ndarray]]
        Per-stage (or per-chain) records as ``name -> (dims, values)``; they become the
        group ``"<method>_stages"``.
    structure : {"independent", "chains", "lineage"}
        How the draws depend on each other, for counting effective draws
        (:mod:`.effective`): independent rows, MCMC chains, or SMC populations whose
        particles share ancestors.
    ancestry : list of numpy.ndarray
        For ``"lineage"``: the parent indices ``(chain, draw)`` of every resampling, oldest
        first.
    schedule : list of tuple
        For tempered samplers: per stage ``(beta, step_size, inverse_mass, active)`` of
        every population, the path a reverse run can retrace (host-side, not written to
        the tree).
    stage_chains : numpy.ndarray, optional
        Which chains of the ``stages`` records the returned chains are (``None``: all, in
        order); a population that found no draw in S has records but no draws.
    """

    posterior: dict[str, np.ndarray]
    sample_stats: dict[str, np.ndarray]
    log_volume: float
    log_volume_se: float
    complete: bool = True
    note: str = ""
    attrs: dict = field(default_factory=dict)
    stages: dict = field(default_factory=dict)
    structure: str = "independent"
    ancestry: list = field(default_factory=list)
    stage_chains: np.ndarray | None = None
    schedule: list = field(default_factory=list)


class Infeasible(NamedTuple):
    """A sampler's report that it found no draw in S: the driver raises ``InfeasibleError``.

    ``log_volume_upper_bound`` is what the run implies about vol(S) (see
    :class:`consistent_nets.InfeasibleError`).
    """

    message: str
    log_volume_upper_bound: float


def split_chains(draws: Mapping[str, np.ndarray], num_chains: int) -> dict[str, np.ndarray]:
    """Reshape ``(num_chains * k, ...)`` flat draws to ``(num_chains, k, ...)`` (the rest dropped)."""
    out = {}
    for name, value in draws.items():
        value = np.asarray(value)
        k = value.shape[0] // num_chains
        out[name] = value[: num_chains * k].reshape((num_chains, k) + value.shape[1:])
    return out
