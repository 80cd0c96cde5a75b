"""The membership check: exact draws pass, prior draws outside S fail."""

import jax
import numpy as np

import consistent_nets as cn
from consistent_nets.diagnostics import membership
from consistent_nets.diagnostics.draws import fit, subject_of


def _max_slack(problem, params):
    return np.max(fit(subject_of(problem, (), {}), params).slack, axis=1)


def test_membership(xor_problem, exact):
    params, _ = exact
    assert membership.membership_check(_max_slack(xor_problem, params)).passed
    prior = {k: np.asarray(v) for k, v in cn.BoxPrior(3.0).sample(jax.random.key(0), xor_problem.net.param_shapes, 500).items()}
    result = membership.membership_check(_max_slack(xor_problem, prior))
    assert result.passed is False
    # about 0.56 % of prior draws lie in S for XOR (log vol ≈ -5.2)
    assert result.statistic < 0.05
