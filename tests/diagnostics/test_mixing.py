"""Function-space R-hat and the ESS check: exact draws pass, stuck chains and copies fail."""

import numpy as np

from consistent_nets.diagnostics import mixing
from consistent_nets.samplers.effective import effective_draws
from conftest import probe_outputs


def _outputs(problem, params):
    return probe_outputs(problem, params)


def test_rhat_and_ess_pass_on_exact_draws(xor_problem, exact):
    params, (c, d) = exact
    f = _outputs(xor_problem, params).reshape(c, d, -1)
    rhat = mixing.rhat_check(f)
    ess = mixing.ess_check(effective_draws(f, "chains")[0], c * d, "autocorrelation")
    assert rhat.passed and ess.passed, (rhat, ess)


def test_rhat_fails_for_chains_stuck_in_different_modes(xor_problem, exact):
    params, (c, d) = exact
    f = _outputs(xor_problem, params)
    # each chain sees one region of S only: sort the draws by the output at a probe point
    order = np.argsort(f[:, 5])
    rhat = mixing.rhat_check(f[order].reshape(c, d, -1))
    assert rhat.passed is False and rhat.statistic > 1.1


def test_rhat_fails_for_chains_that_never_move():
    """Each chain one point repeated: R-hat is infinite (no within-chain spread) and fails,
    whether every output is so or only some; an output without an R-hat is named, not used."""
    rng = np.random.default_rng(0)
    f = np.repeat(rng.normal(size=(4, 1, 6)), 50, axis=1)
    stuck = mixing.rhat_check(f)
    assert stuck.passed is False and stuck.statistic == np.inf
    mixed = rng.normal(size=(4, 50, 6))
    mixed[..., 0] = f[..., 0]
    one = mixing.rhat_check(mixed)
    assert one.passed is False and one.statistic == np.inf
    mixed[..., 0] = rng.normal(size=(4, 50))
    mixed[0, 3, 1] = np.nan
    some = mixing.rhat_check(mixed)
    assert some.passed is True and "1 without an R-hat" in some.detail


def test_ess_fails_for_a_population_of_copies(xor_problem, exact):
    """Each draw copied 20 times: 2000 rows worth 100 draws, by lineage or by chains."""
    params, (c, d) = exact
    f = _outputs(xor_problem, params)
    repeated = np.repeat(f[: c * d // 20], 20, axis=0).reshape(c, d, -1)
    groups = np.repeat(np.arange(c * d // 20), 20).reshape(c, d)
    for structure, g in (("lineage", groups), ("chains", None)):
        ess = mixing.ess_check(effective_draws(repeated, structure, g)[0], c * d, structure)
        assert ess.passed is False and ess.statistic < 150, (structure, ess)


def test_one_chain_says_why_rhat_does_not_run(xor_problem, exact):
    params, _ = exact
    f = _outputs(xor_problem, params)[None]
    rhat = mixing.rhat_check(f)
    assert rhat.passed is None and "one chain" in rhat.detail
