"""Function-space R-hat and ESS: exact draws pass, stuck chains and degenerate populations fail."""

import jax
import numpy as np

import pytest

from consistent_nets.diagnostics import mixing
from consistent_nets.diagnostics.draws import fit, probe_outputs, subject_of


@pytest.fixture(scope="module")
def exact_outputs(xor_problem, xor_rejection, exact):
    """Outputs of the exact draws at the training inputs and 16 random probes ``(N, 20)``."""
    subject = subject_of(xor_problem, (), {})
    f_probe, _ = probe_outputs(subject, xor_rejection, jax.random.key(0), 16)
    return np.concatenate([fit(subject, exact[0]).outputs, f_probe], axis=1)


def test_rhat_and_ess_pass_on_exact_draws(exact, exact_outputs):
    _, (c, d) = exact
    f = exact_outputs
    rhat, ess = mixing.mixing_checks(f.reshape(c, d, -1))
    assert rhat.passed and ess.passed, (rhat, ess)


def test_rhat_fails_for_chains_stuck_in_different_modes(exact, exact_outputs):
    _, (c, d) = exact
    f = exact_outputs
    # each chain sees one region of S only: sort the draws by the output at a probe point
    order = np.argsort(f[:, 5])
    rhat, _ = mixing.mixing_checks(f[order].reshape(c, d, -1))
    assert rhat.passed is False and rhat.statistic > 1.1


def test_ess_fails_for_a_degenerate_population(exact, exact_outputs):
    _, (c, d) = exact
    f = exact_outputs
    repeated = np.repeat(f[: c * d // 20], 20, axis=0)  # each draw copied 20 times
    _, ess = mixing.mixing_checks(repeated.reshape(c, d, -1))
    assert ess.passed is False
