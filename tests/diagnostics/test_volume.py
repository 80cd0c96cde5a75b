"""Volume agreement: consistent estimates pass, a chain that lost a mode fails."""

import jax
import numpy as np
import xarray as xr

import consistent_nets as cn
from consistent_nets.diagnostics import volume
from conftest import tree_from


def test_volume_agreement(xor_problem, xor_rejection):
    other = cn.sample(xor_problem, method="rejection", num_samples=300, rng_key=jax.random.key(11), progress_bar=False)
    good = volume.volume_check([xor_rejection, other])
    assert good.p_value > 0.01
    lost = other.copy()
    # a run that found only part of S: its log vol is 0.7 lower, ~10 SEs away
    lost.attrs["log_volume"] = other.attrs["log_volume"] - 0.7
    bad = volume.volume_check([xor_rejection, lost])
    assert bad.p_value < 1e-6
    single = volume.volume_check([xor_rejection])
    assert not single.applicable


def test_volume_uses_per_chain_estimates_with_ses(exact):
    params, _ = exact
    chains = {"log_volume": np.array([-5.2, -5.21, -5.18, -5.2]), "log_volume_se": np.full(4, 0.02)}
    tree = tree_from(params, 4)
    tree["smc_stages"] = xr.Dataset({k: ("chain", v) for k, v in chains.items()})
    assert volume.volume_check([tree]).passed
    chains["log_volume"] = np.array([-5.2, -5.21, -6.0, -5.2])  # one chain lost a mode
    tree["smc_stages"] = xr.Dataset({k: ("chain", v) for k, v in chains.items()})
    assert volume.volume_check([tree]).p_value < 1e-6
