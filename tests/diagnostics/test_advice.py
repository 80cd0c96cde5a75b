"""``Report.advice``: what to try, from the failing checks and what the tree says it is."""

import math

from consistent_nets.diagnostics.advice import advise
from consistent_nets.diagnostics.report import CheckResult


def _checks(failed=(), passed=("chord", "rhat", "ess", "populations"), ess=150.0):
    out = {}
    for name in {*failed, *passed}:
        statistic = ess if name == "ess" else 0.0
        out[name] = CheckResult(name, statistic, math.nan, 0.0, name not in failed, "null")
    out["orbit"] = CheckResult("orbit", math.nan, math.nan, math.nan, None, "null", "n/a")
    return out


def test_nothing_failed_nothing_to_try():
    assert advise(_checks(), {"method": "smc"}, 4, 2000) == ()


def test_smc_populations_apart_asks_for_finer_tempering_then_bigger_populations():
    attrs = {"method": "smc", "ess_between_population_inflation": 3.71, "target_ess": 0.5}
    out = advise(_checks(failed=("rhat", "populations", "ess")), attrs, 4, 2000)
    assert len(out) == 2
    assert "target_ess=0.9" in out[0] and "3.7x" in out[0] and "4 populations" in out[0]
    assert "tree.attrs['ess']" in out[0] and "num_particles=1000" in out[0]
    assert "150 effective draws of 2000 rows" in out[1] and "particles per population" in out[1]
    # a tree without the setting (older files) gets the same advice
    assert "target_ess=0.9" in advise(_checks(failed=("rhat",)), {"method": "smc"}, 4, 2000)[0]
    # already tempered that finely: the measured fix is not offered again
    (line,) = advise(_checks(failed=("populations",)), {**attrs, "target_ess": 0.9}, 4, 2000)
    assert "target_ess=0.9" not in line and "num_particles=1000" in line and "nearer 1" in line
    # finer only in S (by option, or because the moves stalled there): finer from the start
    for late in ({"target_ess_in_set": 0.9}, {"target_ess_stalled": 0.9, "num_populations_stalled": 2}):
        (line,) = advise(_checks(failed=("populations",)), {**attrs, **late}, 4, 2000)
        assert "from the start" in line and "target_ess=0.9" in line and "num_particles=1000" in line
    # the switch was on but no population stalled: the steps were coarse throughout
    (line,) = advise(_checks(failed=("populations",)),
                     {**attrs, "target_ess_stalled": 0.9, "num_populations_stalled": 0}, 4, 2000)
    assert "from the start" not in line and "target_ess_in_set=0.9" in line


def test_mcmc_chains_apart_point_to_smc():
    out = advise(_checks(failed=("rhat",)), {"method": "anneal"}, 8, 800)
    assert len(out) == 1 and "different regions" in out[0] and "method='smc'" in out[0]
    # one chain cannot be apart from the others
    assert advise(_checks(failed=("rhat",)), {"method": "anneal"}, 1, 100) == ()


def test_orbit_advice_only_for_draws_not_symmetrized():
    checks = _checks(failed=("orbit",))
    checks["orbit"] = CheckResult("orbit", 1.0, 1e-9, 0.002, False, "null")
    assert "cn.symmetrize" in advise(checks, {"method": "smc", "symmetrized": 0}, 4, 2000)[0]
    assert advise(checks, {"method": "smc", "symmetrized": 1}, 4, 2000) == ()


def test_membership_and_volume_name_their_causes():
    out = advise(_checks(failed=("membership", "volume")), {"method": "smc"}, 4, 2000)
    assert "outside S" in out[0] and "num_particles >= 1000" in out[1]


def test_chains_that_barely_move_point_to_smc():
    (line,) = advise(_checks(failed=("ess",), ess=18.0), {"method": "anneal"}, 8, 800)
    assert "18 effective draws of 800 rows" in line and "barely move" in line and "method='smc'" in line
