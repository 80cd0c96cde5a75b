"""NUTS/HMC moves of a population: leapfrog counting, invariance, restriction to S."""

import jax
import numpy as np
import pytest

from consistent_nets.samplers.moves import nuts_moves


@pytest.mark.parametrize("batch_size", [1, 4, None])
def test_nuts_moves_count_executed_leapfrog_steps(batch_size):
    """Executed = used when each particle moves alone; otherwise every particle of a batch
    runs as long as the batch's longest trajectory (a multiple of the batch size per move)."""
    u = jax.random.normal(jax.random.key(0), (10, 3)) * np.array([0.1, 1.0, 10.0])
    logdensity = lambda x: -0.5 * jax.numpy.sum(x**2)  # noqa: E731
    _, _, info = jax.jit(
        lambda u: nuts_moves(
            jax.random.key(1), u, logdensity, lambda x: True, 0.5, jax.numpy.ones(3),
            min_moves=3, max_moves=3, jump_target=0.0, max_num_doublings=5, target_accept=0.8,
            batch_size=batch_size,
        )
    )(u)
    used, executed = int(info.num_grad_evals), int(info.num_grad_evals_executed)
    assert int(info.num_moves) == 3 and used > 0
    if batch_size == 1:
        assert executed == used
    else:
        # an identity mass on scales 0.1..10 gives trees of different depths
        assert used < executed <= 10 * 3 * (2**5 - 1)
        if batch_size is None:
            assert executed % 10 == 0



def test_moves_keep_a_gaussian_invariant():
    """Exact moves leave N(0, 1) invariant: mean and variance of 2000 particles after 3 moves
    stay within 5 Monte-Carlo SEs (SE of the mean 1/sqrt(N), of the variance sqrt(2/N))."""
    n = 2000
    u = jax.random.normal(jax.random.key(0), (n, 2))
    moved, _, info = jax.jit(
        lambda u: nuts_moves(
            jax.random.key(1), u, lambda x: -0.5 * jax.numpy.sum(x**2), lambda x: True, 0.8, jax.numpy.ones(2),
            min_moves=3, max_moves=3, jump_target=0.0, max_num_doublings=4, target_accept=0.8,
        )
    )(u)
    moved = np.asarray(moved)
    assert float(info.jump) > 0.5  # the particles did move
    assert np.all(np.abs(moved.mean(axis=0)) < 5 / np.sqrt(n))
    assert np.all(np.abs(moved.var(axis=0) - 1) < 5 * np.sqrt(2 / n))


def test_restricted_moves_never_leave_the_set():
    """With restrict_to_set, proposals outside {x_0 > 0} are refused: every particle stays in."""
    u = jax.numpy.abs(jax.random.normal(jax.random.key(0), (500, 2)))
    inside = lambda x: x[0] > 0  # noqa: E731
    moved, _, info = jax.jit(
        lambda u: nuts_moves(
            jax.random.key(1), u, lambda x: -0.5 * jax.numpy.sum(x**2), inside, 0.8, jax.numpy.ones(2),
            min_moves=2, max_moves=2, jump_target=0.0, max_num_doublings=4, target_accept=0.8,
            restrict_to_set=True,
        )
    )(u)
    assert np.all(np.asarray(moved)[:, 0] > 0)
    assert int(info.num_rejected_outside) > 0  # some proposals did try to leave


@pytest.mark.parametrize("kernel", ["nuts", "rhmc"])
def test_a_dense_inverse_mass_moves_as_its_diagonal_does(kernel):
    """A dense inverse mass that is diagonal moves the particles as that diagonal does, and
    the jump (in the mass's per-coordinate standard deviations) reads its diagonal: same
    positions, step size, jump and move count (the jump target decides how many moves)."""
    u = jax.random.normal(jax.random.key(0), (50, 3)) * np.array([0.5, 1.0, 2.0])
    var = jax.numpy.array([0.25, 1.0, 4.0])

    def run(mass):
        return jax.jit(
            lambda u: nuts_moves(
                jax.random.key(1), u, lambda x: -0.5 * jax.numpy.sum(x**2 / var), lambda x: True, 0.5, mass,
                min_moves=1, max_moves=6, jump_target=0.8, max_num_doublings=4, target_accept=0.8, kernel=kernel,
            )
        )(u)

    diag, dense = run(var), run(jax.numpy.diag(var))
    np.testing.assert_allclose(np.asarray(dense[0]), np.asarray(diag[0]), rtol=1e-4, atol=1e-5)
    assert float(dense[1]) == pytest.approx(float(diag[1]), rel=1e-5)
    assert np.isfinite(float(dense[2].jump)) and float(dense[2].jump) == pytest.approx(float(diag[2].jump), rel=1e-4)
    assert int(dense[2].num_moves) == int(diag[2].num_moves)
