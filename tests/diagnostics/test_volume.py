"""Volume agreement: consistent estimates pass, a chain that lost a mode fails."""

import jax
import numpy as np
import pytest
import xarray as xr
from scipy import stats

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


def _null_estimates(rng, k, populations):
    """``k`` estimates that agree: each the mean of ``populations`` N(0, 1) values, its SE
    their spread (``populations - 1`` degrees of freedom), as ``cn.sample`` reports them."""
    v = rng.normal(size=(k, populations))
    return v.mean(axis=1), v.std(axis=1, ddof=1) / np.sqrt(populations)


def test_welch_is_calibrated_where_cochran_is_not():
    """SEs from 4 populations (3 dof): at level 0.01 Welch's test false-alarms at about
    that rate, Cochran's Q (the SEs taken as known) several times more often.

    4000 replicates of 3 agreeing estimates: the rate's Monte-Carlo SD at 0.01 is 0.0016,
    so Welch's rate must lie within 0.01 ± 0.006 (4 SD, with Welch's own approximation
    error of ~0.003 measured at k = 2-5); Cochran's measured 0.075 here."""
    rng = np.random.default_rng(0)
    reps, level = 4000, 0.01
    welch = cochran = 0
    for _ in range(reps):
        x, se = _null_estimates(rng, 3, 4)
        welch += volume.welch_test(x, se, np.full(3, 3.0))[1] < level
        cochran += volume.welch_test(x, se, np.full(3, np.inf))[1] < level
    assert abs(welch / reps - level) < 0.006
    assert cochran / reps > 4 * level


def test_welch_sees_a_lost_mode_with_few_populations():
    """Power: one of three runs 8 (true) SEs low — a run that missed part of S — fails
    at level 0.01 in most of 500 replicates despite its SEs' 3 degrees of freedom."""
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(500):
        x, se = _null_estimates(rng, 3, 4)
        x[0] -= 8 * 0.5  # true SE of a mean of 4: 0.5
        hits += volume.welch_test(x, se, np.full(3, 3.0))[1] < 0.01
    assert hits / 500 > 0.7


def test_welch_reduces_to_cochran_for_known_ses():
    x, se = np.array([-5.2, -5.0, -5.1]), np.array([0.05, 0.08, 0.1])
    f, p, df2, mean = volume.welch_test(x, se, np.full(3, np.inf))
    w = 1 / se**2
    q = np.sum(w * (x - np.sum(w * x) / np.sum(w)) ** 2)
    assert df2 == np.inf and np.isclose(f * 2, q) and np.isclose(p, stats.chi2.sf(q, 2))
    with pytest.raises(ValueError, match="x must"):
        volume.welch_test(x[:1], se[:1], [np.inf])


def test_volume_check_reads_the_ses_degrees_of_freedom(xor_rejection):
    """Trees say how many dof their SE has (``attrs["log_volume_se_dof"]``); two runs 4
    SEs apart disagree clearly with known SEs, less clearly with SEs of 3 dof each."""
    assert xor_rejection.attrs["log_volume_se_dof"] == 2 * xor_rejection.attrs["num_accepted"]
    a, b = xor_rejection.copy(), xor_rejection.copy()
    for t in (a, b):
        t.attrs["log_volume_se"] = 0.1
    b.attrs["log_volume"] = a.attrs["log_volume"] - 0.4 * np.sqrt(2)
    for t in (a, b):
        t.attrs["log_volume_se_dof"] = 1e9
    known = volume.volume_check([a, b])
    for t in (a, b):
        t.attrs["log_volume_se_dof"] = 3
    few = volume.volume_check([a, b])
    assert known.p_value < 1e-4 < few.p_value < 0.05
    assert "F(1," in few.detail
