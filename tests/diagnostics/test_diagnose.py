"""``cn.diagnose`` end to end on XOR: exact draws pass, the SGD heuristic fails."""

import math

import jax
import numpy as np
import pytest
import xarray as xr

import consistent_nets as cn
from conftest import scaled_model
from consistent_nets.diagnostics.report import CheckResult


@pytest.fixture(scope="module")
def report_rejection(xor_rejection, xor_problem):
    return cn.diagnose(xor_rejection, xor_problem, rng_key=jax.random.key(1))


@pytest.fixture(scope="module")
def report_sgd(xor_sgd, xor_problem):
    return cn.diagnose(xor_sgd, xor_problem, rng_key=jax.random.key(1))


def test_exact_draws_pass_without_reference(report_rejection):
    assert report_rejection.passed, str(report_rejection)
    assert report_rejection.distance < report_rejection.distance_noise
    assert not report_rejection["reference"].applicable
    assert not report_rejection["volume"].applicable  # one run: not counted
    assert report_rejection.advice == () and "what to try" not in str(report_rejection)


def test_sgd_fails_without_reference(report_sgd, report_rejection):
    assert not report_sgd.passed
    assert report_sgd["chord"].passed is False
    # the TV lower bound is many times the exact sample's (and far above the noise)
    assert report_sgd.distance > 5 * report_rejection.distance
    assert report_sgd.distance > 3 * report_sgd.distance_noise
    # the report says what to do about it: the heuristic is the cause, smc the cure
    assert any("SGD heuristic" in a and "method='smc'" in a for a in report_sgd.advice), report_sgd.advice


def _halves(tree):
    """Chains 0-1 and 2-3 of an exact sample: two independent exact samples."""
    first, second = tree.isel(chain=[0, 1]), tree.isel(chain=[2, 3])
    second.attrs.pop("log_volume")  # the same run's estimate is not an independent one
    return first, second


def test_reference_check_with_a_given_reference(xor_problem, xor_rejection, xor_sgd):
    sample, reference = _halves(xor_rejection)
    good = cn.diagnose(sample, xor_problem, reference=reference, rng_key=jax.random.key(2))
    bad = cn.diagnose(xor_sgd, xor_problem, reference=reference, rng_key=jax.random.key(2))
    assert good.passed, str(good)
    assert good["reference"].passed
    assert bad["reference"].passed is False
    assert bad.distance > 10 * good.distance


def test_report_is_a_table_html_and_dataset(report_sgd, xor_sgd):
    text = str(report_sgd)
    assert "FAILED" in text and "chord" in text and "n/a" in text
    assert "<table>" in report_sgd._repr_html_()
    ds = report_sgd.to_dataset()
    assert isinstance(ds, xr.Dataset) and list(ds["check"].values) == list(report_sgd.checks)
    tree = xor_sgd.copy()
    tree["diagnostics"] = ds
    back = cn.Report.from_dataset(tree["diagnostics"].to_dataset())
    assert back.passed == report_sgd.passed and math.isclose(back.distance, report_sgd.distance)
    assert back.advice == report_sgd.advice and "what to try:" in text
    assert report_sgd.advice[0] in text and "what to try" in report_sgd._repr_html_()
    for name, check in report_sgd.checks.items():
        assert isinstance(back[name], CheckResult)
        assert back[name].passed == check.passed and back[name].null == check.null


def test_same_key_same_report(xor_problem, xor_sgd, report_sgd):
    again = cn.diagnose(xor_sgd, xor_problem, rng_key=jax.random.key(1))
    assert again.distance == report_sgd.distance
    assert {k: c.statistic for k, c in again.checks.items() if c.applicable} == {
        k: c.statistic for k, c in report_sgd.checks.items() if c.applicable
    }


@pytest.fixture(scope="module")
def report_scaled(scaled_rejection):
    X, y = cn.datasets.xor()
    return cn.diagnose(scaled_rejection, scaled_model, X, y, rng_key=jax.random.key(1))


def test_a_model_gets_the_core_checks_and_exact_draws_pass(report_scaled):
    """A hand-written model with LogNormal/HalfNormal sites: chord (unconstrained space),
    function-space mixing on the consistency site's outputs, and the declared orbit test."""
    report = report_scaled
    for name in ("membership", "chord", "rhat", "ess", "orbit"):
        assert report[name].applicable, name
    assert "unconstrained" in report["chord"].detail
    assert report.passed and report.verdict == "passed", str(report)
    assert math.isfinite(report.distance) and report.distance < report.distance_noise


def test_a_model_fails_the_sgd_heuristic(scaled_sgd, report_scaled):
    X, y = cn.datasets.xor()
    report = cn.diagnose(scaled_sgd, scaled_model, X, y, rng_key=jax.random.key(1))
    assert report.verdict == "failed" and report["chord"].passed is False
    assert report["membership"].passed  # every draw fits: only uniformity is wrong
    assert report.distance > 5 * report_scaled.distance


def test_a_model_with_probes_and_a_rejection_reference(scaled_rejection):
    X, y = cn.datasets.xor()
    probes = (np.array([[0.5, 0.2], [0.0, 0.0], [-0.3, 0.9]], np.float32),)
    sub = scaled_rejection.isel(draw=slice(0, 100))
    report = cn.diagnose(sub, scaled_model, X, y, probes=probes, reference="rejection", rng_key=jax.random.key(4))
    assert report.info["num_probe_outputs"] == 4 + 3
    assert report["reference"].applicable and report.passed, str(report)


def test_orbit_is_not_run_on_symmetrized_draws(xor_problem, xor_rejection):
    """cn.sample gave every draw an independent uniform group element: the orbit index is
    uniform by construction, so the check could only false-alarm; the report says why."""
    assert xor_rejection.attrs["symmetrized"] == 1
    report = cn.diagnose(xor_rejection, xor_problem, rng_key=jax.random.key(0))
    assert not report["orbit"].applicable and "symmetrize=False" in report["orbit"].detail
    assert report.passed  # not a core check: the verdict stands on the others


def test_undeclared_symmetry_is_reported_not_run(xor_problem, xor_rejection):
    report = cn.diagnose(xor_rejection, xor_problem.model, *xor_problem.model_args, rng_key=jax.random.key(0))
    assert not report["orbit"].applicable and "net=" in report["orbit"].detail
    assert report["chord"].applicable and report.passed, str(report)


def test_without_the_core_checks_the_verdict_is_inconclusive(xor_rejection, xor_problem):
    alone = cn.diagnose(xor_rejection, None, rng_key=jax.random.key(0))
    assert alone.verdict == "inconclusive" and alone.passed is False
    assert "chord" in alone.inconclusive and "needs the problem or model" in alone.inconclusive
    # one reason stopped all three core checks: said once, not a distance of nan
    assert alone.inconclusive == "core checks did not run: chord, rhat, ess (needs the problem or model the tree was drawn for)"
    assert "TV lower bound): not estimated" in str(alone) and "nan" not in str(alone).splitlines()[1]
    assert "INCONCLUSIVE" in str(alone) and "INCONCLUSIVE" in alone._repr_html_()
    back = cn.Report.from_dataset(alone.to_dataset())
    assert back.verdict == "inconclusive" and back.inconclusive == alone.inconclusive
    # three draws per chain: no R-hat, so no verdict either, whatever the chord says
    short = cn.diagnose(xor_rejection.isel(draw=slice(0, 3)), xor_problem, rng_key=jax.random.key(0))
    assert short.verdict == "inconclusive" and "rhat" in short.inconclusive
    with pytest.raises(ValueError, match="passed report"):
        cn.Report({}, True, math.nan, math.nan, 0.01)


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"rng_key": None}, "rng_key"),
        ({"alpha": 0.0}, "alpha"),
        ({"num_probes": -1}, "num_probes"),
        ({"max_draws": 5}, "max_draws"),
        ({"reference": "mcmc"}, "reference"),
        ({"reference": 3}, "reference"),
        ({"runs": [3]}, "runs"),
    ],
)
def test_bad_arguments_raise_value_error(xor_problem, xor_rejection, kwargs, name):
    args = {"rng_key": jax.random.key(0)} | kwargs
    with pytest.raises(ValueError, match=name):
        cn.diagnose(xor_rejection, xor_problem, **args)


def test_bad_tree_and_problem(xor_problem, xor_rejection):
    with pytest.raises(ValueError, match="tree"):
        cn.diagnose(xr.Dataset(), xor_problem, rng_key=jax.random.key(0))
    with pytest.raises(ValueError, match="problem"):
        cn.diagnose(xor_rejection, 3, rng_key=jax.random.key(0))
    other = cn.Problem(cn.MLP([2, 4, 1]), *cn.datasets.xor(), cn.BoxPrior(3.0), cn.Margin(0.0))
    with pytest.raises(ValueError, match="posterior"):
        cn.diagnose(xor_rejection, other, rng_key=jax.random.key(0))


def test_rejection_reference_refuses_a_problem_too_large(xor_problem, xor_rejection):
    tree = xor_rejection.copy()
    tree.attrs["log_volume"] = -40.0
    with pytest.raises(ValueError, match="reference"):
        cn.diagnose(tree, xor_problem, reference="rejection", rng_key=jax.random.key(0))
    report = cn.diagnose(tree, xor_problem, reference="auto", rng_key=jax.random.key(0))
    assert not report["reference"].applicable
    assert "skipped" in report.info["reference"]
    assert np.isfinite(report.distance)


def test_a_declared_symmetry_fails_a_sample_stuck_in_one_orbit(scaled_rejection):
    """The orbit test on a model's declared net: canonical forms (one orbit element) fail."""
    import jax.numpy as jnp

    from conftest import SCALED_NET
    from consistent_nets import symmetry

    tree = scaled_rejection.isel(draw=slice(0, 150)).copy()
    post = tree["posterior"].to_dataset()
    names = list(SCALED_NET.param_shapes)
    flat = {k: jnp.asarray(post[k].values.reshape(-1, *post[k].shape[2:])) for k in names}
    canonical, _ = jax.vmap(lambda p: symmetry.canonicalize(p, SCALED_NET))(flat)
    for k in names:
        post[k] = (post[k].dims, np.asarray(canonical[k]).reshape(post[k].shape))
    tree["posterior"] = post
    X, y = cn.datasets.xor()
    report = cn.diagnose(tree, scaled_model, X, y, rng_key=jax.random.key(3))
    assert report["orbit"].passed is False and report.verdict == "failed"


def test_merged_copies_keep_the_draws_structure():
    """dependence_blocks labels blocks "lineage, copies merged" once copies across blocks
    are merged; the ESS must still be counted by lineage (it fell back to chains)."""
    from consistent_nets.diagnostics.diagnose import _structure

    ids = np.arange(6)
    assert _structure("lineage, copies merged", ids)[0] == "lineage"
    assert _structure("lineage, copies merged", ids)[1] is ids
    assert _structure("independent, copies merged", ids) == ("independent", None)
    assert _structure("chains", ids) == ("chains", None)
