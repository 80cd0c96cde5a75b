"""What the population samplers share: populations on devices, initial draws, pooled volumes."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from . import distributed
from .moves import chunked_vmap
from .particles import split_keys

__all__ = ["shard_chains", "log_volume_from_chains", "log_volume_attrs", "MEASURED_LOG_VOLUME_BIAS", "initial_population", "finite_prior_draws", "population_terms", "stack_infos"]


def shard_chains(tree, num_chains: int):
    """Place every array with a leading chain axis across all local devices.

    With ``num_chains`` divisible by the device count, the chain axis is split
    over devices (2 CPU devices here, 8 GPUs on a node); jitted ``vmap``-over-chains
    code then runs data-parallel. Otherwise arrays stay where they are. Under
    ``jax.distributed.initialize`` the devices of every process share the chains
    (:func:`.distributed.place_chains`).
    """
    if distributed.is_distributed():
        return distributed.place_chains(tree, num_chains)
    sharding = distributed.chain_sharding(num_chains)
    if sharding is None:
        return tree
    return jax.tree.map(
        lambda a: jax.device_put(a, sharding) if getattr(a, "ndim", 0) >= 1 and a.shape[0] == num_chains else a,
        tree,
    )


def log_volume_from_chains(log_volumes) -> tuple[float, float]:
    """Pool per-chain estimates ``log Z_c``: ``log mean_c Z_c`` and its standard error.

    The SE is the delta method on the linear scale, ``sd(Z_c) / (sqrt(C) mean(Z_c))``,
    which stays finite when a chain found nothing (``Z_c = 0``). With one chain the
    spread is unknown and the SE is ``nan`` (stated in the tree's attrs).
    """
    lv = np.asarray(log_volumes, dtype=np.float64)
    top = np.max(lv)
    if not np.isfinite(top):
        return -math.inf, math.nan
    z = np.exp(lv - top)
    log_volume = float(top + np.log(np.mean(z)))
    if lv.size < 2:
        return log_volume, math.nan
    return log_volume, float(np.std(z, ddof=1) / (math.sqrt(lv.size) * np.mean(z)))


#: SD of the populations' log Ẑ above which SMC's pooled estimate was measured biased low
#: by more than a trifle when each population moved with its own mass: 0.28-0.31 at 500
#: particles on random labels (≈ 0.1 nats low), 0.09-0.12 at 1000 on random labels and the
#: teacher (no trend left; BENCHMARKS.md). With the default ``mass="other"`` random labels
#: spread 0.27 at 500 particles without that bias: a wide spread says the estimate is
#: noisy and skewed, and may be low.
LOG_VOLUME_SPREAD_NOTE = 0.25

#: what the benchmarks measured of that bias (BENCHMARKS.md), quoted by the volume note
#: and by the report's advice
MEASURED_LOG_VOLUME_BIAS = (
    "with each population moving with its own mass (cn.SMC(mass='own'), the default before) the pooled "
    "estimate at 500 particles per population was measured about 0.1 nats below the large-population "
    "value on random labels and 0.2-0.4 below it on a 1441-weight teacher, with no trend left from 1000; "
    "with the default mass='other' random labels' was within 0.05 of it at jump_target=0.3 and 0.18 +- 0.07 "
    "below the value of finer tempering steps (target_ess=0.9) at today's 0.15, the teacher's 0.13 +- 0.10 above "
    "typical 1000-particle populations (the two far below them came from a bug since fixed)"
)

#: nats below the populations' median log Ẑ at which a population is named in the volume
#: note: at 3 nats its Ẑ is 5 % of a typical population's, so it barely enters the pooled mean
LOG_VOLUME_FAR_BELOW = 3.0

#: what the benchmarks saw of such populations, quoted by the note
MEASURED_LOG_VOLUME_LOW_POPULATIONS = (
    "on a 1441-weight teacher at 1000 particles per population, 2 of 12 populations with the default "
    "mass='other' came out 4.4 and about 2060 nats below the rest; both were traced to a bug since fixed "
    "(a prior draw at the box's edge made the variance of the population they moved with NaN, and so their "
    "mass), and no population far below the rest from another cause has been measured"
)


def log_volume_attrs(log_volumes, num_particles: int | None = None) -> dict:
    """The attrs that say how far :func:`log_volume_from_chains`'s estimate can be trusted.

    ``log_volume_se_dof``: the SE is the spread of ``C`` chains' estimates, so it has
    ``C - 1`` degrees of freedom; with one chain there is no SE (``nan``) and
    ``log_volume_se_note`` says how to get one. ``log_volume_population_sd``: the
    SD of the finite per-chain ``log Z_c``. For SMC populations of ``num_particles``
    particles, a ``log_volume_note`` when that SD exceeds :data:`LOG_VOLUME_SPREAD_NOTE`:
    each ``Z_c`` is unbiased but skewed, so ``log Z_c`` is biased low; the note quotes what
    the benchmarks measured (:data:`MEASURED_LOG_VOLUME_BIAS`: measured on those problems,
    not estimated from the run: no single run measures its own bias). With three or more
    populations, those :data:`LOG_VOLUME_FAR_BELOW` nats or more below the median are
    listed in ``log_volume_low_populations`` (their indices joined by commas, e.g.
    ``"1,4"``) and the note names them instead: the pooled
    estimate gives them almost no weight, but their draws are a full share of the rows.
    """
    lv = np.asarray(log_volumes, dtype=np.float64)
    if lv.size < 2:
        return {"log_volume_se_note": "one chain: run num_chains >= 2 for a standard error"}
    out = {"log_volume_se_dof": lv.size - 1}
    finite = lv[np.isfinite(lv)]
    if finite.size < 2:
        return out
    sd = float(np.std(finite, ddof=1))
    out["log_volume_population_sd"] = sd
    if num_particles is None:
        return out
    median = float(np.median(finite))
    low = np.flatnonzero(np.isfinite(lv) & (lv <= median - LOG_VOLUME_FAR_BELOW)) if finite.size >= 3 else []
    if len(low):
        # a string, as tree attrs must be (a list would not survive to_netcdf): "3", "1,4"
        out["log_volume_low_populations"] = ",".join(str(int(c)) for c in low)
        gaps = ", ".join(f"{int(c)} ({median - lv[c]:.1f} nats)" for c in low)
        out["log_volume_note"] = (
            f"population(s) {gaps} below the median of the {finite.size} populations' log-volume estimates "
            f"({LOG_VOLUME_FAR_BELOW:g} nats or more: under 5 % of a typical population's volume): such a "
            "population reached S late or found little of it, so the pooled estimate rests "
            f"on the others, while its draws are still 1/{finite.size} of the rows and may over-weight the part "
            "of S it found. Check cn.diagnose's populations check, and compare a run with another key "
            f"({MEASURED_LOG_VOLUME_LOW_POPULATIONS})"
        )
    elif sd > LOG_VOLUME_SPREAD_NOTE:
        out["log_volume_note"] = (
            f"the {finite.size} populations' log-volume estimates spread {sd:.2f} nats (SD), above "
            f"{LOG_VOLUME_SPREAD_NOTE}: the estimate is noisy and skewed there and may sit low "
            f"({MEASURED_LOG_VOLUME_BIAS}): "
            "compare a run with twice the particles per population "
            f"(method=cn.SMC(num_particles={2 * num_particles}), or num_samples doubled)"
        )
    return out


def initial_population(target, rng_key, num_particles: int, batch_size: int | None = None, axis_name=None):
    """``num_particles`` exact prior draws in the unconstrained space with their terms
    (this device's share of a population split over ``axis_name``: see :mod:`.particles`)."""
    u = finite_prior_draws(target, split_keys(rng_key, num_particles, axis_name))
    _, penalty, in_set = population_terms(target, u, batch_size)
    return u, penalty, in_set


def finite_prior_draws(target, keys, max_redraws: int = 8):
    """One prior draw per key in the unconstrained space, each with every coordinate finite.

    A float32 uniform draw is exactly its lower end with probability 2^-23, and a box
    prior's edge maps to an infinite unconstrained coordinate: a population of 1000 on the
    teacher's 1441 weights holds one about one time in six. Its variance is NaN, so
    the population that took it as its diagonal mass (``mass="other"``) diverged on every
    move until the particle was resampled away, collapsed to one ancestor, and ended ~2060
    nats low (BENCHMARKS.md, "Why a teacher population of 1000 collapsed"). A draw with a
    non-finite coordinate is drawn again from its key folded with the attempt's number
    (the edge has prior probability 0, so this is the same prior); the others keep their
    draw, so a population without such a draw is unchanged.
    """
    draw = jax.vmap(lambda k: target.unconstrain(target.prior_draw(k)[0]))
    u = draw(keys)

    def again(carry):
        attempt, u = carry
        bad = ~jnp.all(jnp.isfinite(u), axis=1)
        fresh = draw(jax.vmap(jax.random.fold_in, (0, None))(keys, attempt))
        return attempt + 1, jnp.where(bad[:, None], fresh, u)

    def some_infinite(carry):
        attempt, u = carry
        return (attempt <= max_redraws) & ~jnp.all(jnp.isfinite(u))

    return jax.lax.while_loop(some_infinite, again, (jnp.asarray(1, jnp.uint32), u))[1]


def population_terms(target, u, batch_size: int | None = None):
    """``target.terms`` of every particle: all at once, or ``batch_size`` at a time.

    The network's activations at the data (``num_data x width`` floats per particle) are
    what a population's memory grows with; in chunks (``jax.lax.map``) only a chunk's
    are held at once, as in the moves.
    """
    return chunked_vmap(target.terms, u, batch_size)


def stack_infos(infos, fields) -> dict[str, np.ndarray]:
    """Per-stage infos (each field of shape (chain,)) -> arrays of shape (chain, stage)."""
    out = {}
    for name in fields:
        if infos:
            out[name] = np.stack([np.asarray(getattr(i, name)) for i in infos], axis=1)
    return out
