"""Function-space R-hat and ESS: exact draws pass, stuck chains and degenerate populations fail."""

import jax
import numpy as np

from consistent_nets.diagnostics import mixing
from consistent_nets.diagnostics.draws import outputs, probe_points


def test_rhat_and_ess_pass_on_exact_draws(xor_problem, exact):
    params, (c, d) = exact
    f = outputs(xor_problem, params, probe_points(xor_problem, jax.random.key(0)))
    rhat, ess = mixing.mixing_checks(f.reshape(c, d, -1))
    assert rhat.passed and ess.passed, (rhat, ess)


def test_rhat_fails_for_chains_stuck_in_different_modes(xor_problem, exact):
    params, (c, d) = exact
    f = outputs(xor_problem, params, probe_points(xor_problem, jax.random.key(0)))
    # each chain sees one region of S only: sort the draws by the output at a probe point
    order = np.argsort(f[:, 5])
    rhat, _ = mixing.mixing_checks(f[order].reshape(c, d, -1))
    assert rhat.passed is False and rhat.statistic > 1.1


def test_ess_fails_for_a_degenerate_population(xor_problem, exact):
    params, (c, d) = exact
    f = outputs(xor_problem, params, probe_points(xor_problem, jax.random.key(0)))
    repeated = np.repeat(f[: c * d // 20], 20, axis=0)  # each draw copied 20 times
    _, ess = mixing.mixing_checks(repeated.reshape(c, d, -1))
    assert ess.passed is False
