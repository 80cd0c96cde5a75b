"""The tempered log density and its gradient stay finite: beta up to 1e8, float32 and
float64, points far outside S and near the box boundary (large unconstrained |u|)."""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import consistent_nets as cn
from consistent_nets.extend import make_target
from consistent_nets._constraints import SLACK_CAP

BETAS = jnp.array([0.0, 1.0, 1e4, 1e8])


def x64():
    """Enable float64 for the enclosed block only (never globally for the test session)."""
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64  # older JAX

    return enable_x64()


def problems():
    X, y = cn.datasets.xor()
    X3 = np.array([[0.0, 1.0], [1.0, 0.0], [-1.0, -1.0], [2.0, 0.5]], np.float32)
    return {
        "box-binary-tanh": cn.Problem(cn.MLP([2, 3, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.5)),
        "box-multiclass-relu": cn.Problem(
            cn.MLP([2, 4, 3], activation="relu"), X3, np.array([0, 1, 2, 1]), cn.BoxPrior(2.0),
            cn.Margin(0.1),
        ),
        "normal-tube-sigmoid": cn.Problem(
            cn.MLP([2, 3, 2], activation="sigmoid"), X3, np.ones((4, 2)), cn.NormalPrior(1.0),
            cn.Tube(0.05),
        ),
    }


def probe_points(dim: int, dtype) -> jnp.ndarray:
    """Unconstrained points: origin, typical, far out (±30, mixed signs), extreme (±1e4)."""
    rng = np.random.default_rng(0)
    signs = np.where(np.arange(dim) % 2 == 0, 1.0, -1.0)
    rows = [
        np.zeros(dim),
        rng.standard_normal(dim),
        3 * rng.standard_normal(dim),
        30.0 * np.ones(dim),
        -30.0 * np.ones(dim),
        30.0 * signs,
        30.0 * np.sign(rng.standard_normal(dim)),
        1e4 * signs,
        -1e4 * np.ones(dim),
    ]
    return jnp.asarray(np.stack(rows), dtype=dtype)


def evaluate(target, U):
    """Value and gradient of the tempered density, and the terms, at every (u, beta)."""

    def at(u, beta):
        value, grad = jax.value_and_grad(target.tempered_logdensity)(u, beta)
        log_prior, g, in_set = target.terms(u)
        return value, grad, log_prior, g, in_set

    over_beta = jax.vmap(at, in_axes=(None, 0))
    return jax.jit(jax.vmap(over_beta, in_axes=(0, None)))(U, BETAS.astype(U.dtype))


CASES = [
    ("box-binary-tanh", False),
    ("box-binary-tanh", True),
    ("box-multiclass-relu", False),
    ("normal-tube-sigmoid", False),
]


@pytest.mark.parametrize(("name", "double"), CASES, ids=[f"{n}-{'f64' if d else 'f32'}" for n, d in CASES])
def test_tempered_density_and_gradient_finite(name, double):
    with x64() if double else contextlib.nullcontext():
        target = make_target(problems()[name])
        dtype = jnp.float64 if double else jnp.float32
        U = probe_points(target.dim, dtype)
        value, grad, log_prior, g, in_set = evaluate(target, U)
        assert value.dtype == dtype and grad.dtype == dtype
    assert jnp.zeros(()).dtype == jnp.float32  # x64 stayed local to the block
    for label, array in [("value", value), ("grad", grad), ("log_prior", log_prior), ("g", g)]:
        bad = ~np.isfinite(np.asarray(array))
        assert not bad.any(), f"{name}: {label} not finite at points {np.argwhere(bad)[:5].tolist()}"
    g = np.asarray(g)
    assert (g >= 0).all()
    # the far-out points are outside S, so g > 0 there and beta * g dominates
    assert (g[3:] > 0).all() and not np.asarray(in_set)[3:].any()
    assert (np.asarray(value)[3:, -1] < np.asarray(value)[3:, 0]).all()


def test_penalty_saturates_instead_of_overflowing():
    """Huge weights (normal prior, linear 3-layer net, |u| = 1e5): the raw squared hinge
    would overflow float32; the slack cap keeps g, beta * g and the gradient finite and g
    still positive (off S)."""
    X, y = cn.datasets.xor()
    net = cn.MLP([2, 3, 3, 1], activation="identity")
    problem = cn.Problem(net, X, y, cn.NormalPrior(1.0), cn.Margin(0.0))
    target = make_target(problem)
    u = 10 * probe_points(target.dim, jnp.float32)[-2]
    raw_slack = -np.asarray(problem.y) * np.asarray(problem.outputs(target.constrain(u)))[:, 0]
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.float32(1e8) * np.sum(np.square(raw_slack.clip(0))))

    @jax.jit
    def check(u):
        return target.penalty(u), jax.value_and_grad(target.tempered_logdensity)(u, 1e8)

    g, (value, grad) = check(u)
    assert 0.999 * SLACK_CAP**2 <= float(g) <= 1.001 * problem.num_data * SLACK_CAP**2
    assert np.isfinite(float(value)) and np.isfinite(np.asarray(grad)).all()


def xor_solution():
    """A hand-built point of S for XOR with a [2, 3, 1] tanh net: f = -(h1 + h2) - 1 with
    h1 = tanh(3(s - 1)), h2 = tanh(-3(s + 1)), s = x1 + x2."""
    return {
        "w0": jnp.array([[3.0, -3.0, 0.0], [3.0, -3.0, 0.0]]),
        "b0": jnp.array([-3.0, -3.0, 0.0]),
        "w1": jnp.array([[-1.0], [-1.0], [0.0]]),
        "b1": jnp.array([-1.0]),
    }


def test_on_S_the_penalty_is_exactly_zero_at_any_beta(xor_problem):
    target = make_target(xor_problem)
    params = xor_solution()
    margins = np.asarray(xor_problem.y) * np.asarray(xor_problem.outputs(params))[:, 0]
    assert (margins > 0.9).all()
    # the box's interior, not its edge: sigmoid's inverse would give |u| = inf at ±3
    params = {k: 0.999 * v for k, v in params.items()}
    u = target.unconstrain(params)

    @jax.jit
    def check(u):
        value = jax.vmap(target.tempered_logdensity, in_axes=(None, 0))(u, BETAS)
        return target.terms(u), value, jax.grad(target.tempered_logdensity)(u, 1e8)

    (log_prior, g, in_set), value, grad = check(u)
    assert bool(in_set) and float(g) == 0.0
    np.testing.assert_array_equal(np.asarray(value), float(log_prior))
    assert np.isfinite(np.asarray(grad)).all()
