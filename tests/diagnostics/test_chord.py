"""The chord test: exact draws pass, the SGD heuristic fails; positions are uniform under a normal prior."""

import jax
import numpy as np

import consistent_nets as cn
from consistent_nets.diagnostics import chord
from consistent_nets.diagnostics.draws import flat_params


def test_chord_passes_exact_and_fails_sgd(xor_problem, exact, xor_sgd):
    params, _ = exact
    sub = {k: v[:800] for k, v in params.items()}
    good, u = chord.chord_check(xor_problem, sub, jax.random.key(0))
    assert good.p_value > 0.01 and u.size == 800
    # Kolmogorov distance of 800 uniforms: 99.9 % quantile ≈ 1.95 / sqrt(800)
    assert good.statistic < 1.95 / np.sqrt(800)
    bad, u_sgd = chord.chord_check(xor_problem, flat_params(xor_sgd, xor_problem.net)[0], jax.random.key(0))
    assert bad.p_value < 1e-6 and bad.statistic > 0.2
    # the SGD heuristic stops at the boundary: chord positions pile up at 0 and 1
    assert np.mean((u_sgd < 0.05) | (u_sgd > 0.95)) > 0.5


def test_chord_positions_under_a_normal_prior_are_uniform():
    X, y = cn.datasets.xor()
    problem = cn.Problem(cn.MLP([2, 3, 1]), X, y, cn.NormalPrior(1.5), cn.Margin(0.0))
    tree = cn.sample(problem, method="rejection", num_samples=248, rng_key=jax.random.key(3), progress_bar=False)
    result, _ = chord.chord_check(problem, flat_params(tree, problem.net)[0], jax.random.key(1))
    assert result.p_value > 0.01


def test_chord_in_unconstrained_space_for_a_model(scaled_rejection, scaled_sgd):
    """Any model: positions from the model's own density along lines in NumPyro's
    unconstrained space (LogNormal and HalfNormal sites through exp, box sites through
    a logistic map). Exact draws are uniform; the SGD heuristic piles up at the ends."""
    from conftest import scaled_model
    from consistent_nets.diagnostics.draws import flat_params, subject_of

    X, y = cn.datasets.xor()
    subject = subject_of(scaled_model, (X, y), {})
    exact = {k: v[:600] for k, v in flat_params(scaled_rejection, subject)[0].items()}
    good, u = chord.chord_check(subject.target, exact, jax.random.key(0))
    assert good.p_value > 0.01 and u.size == 600 and "unconstrained" in good.detail
    bad, u_sgd = chord.chord_check(subject.target, flat_params(scaled_sgd, subject)[0], jax.random.key(0))
    assert bad.p_value < 1e-6
    assert np.mean((u_sgd < 0.05) | (u_sgd > 0.95)) > 2 * np.mean((u < 0.05) | (u > 0.95))


def test_chord_of_a_problem_agrees_in_both_spaces(xor_problem, exact):
    """The same exact XOR draws, as a Problem (weight space, closed form) and as its model
    (unconstrained space, quadrature): both uniform."""
    from consistent_nets.extend import make_target

    params = {k: v[:400] for k, v in exact[0].items()}
    target = make_target(xor_problem.model, *xor_problem.model_args)
    for source in (xor_problem, target):
        result, _ = chord.chord_check(source, params, jax.random.key(5))
        assert result.p_value > 0.01, source


def test_a_weight_on_a_face_of_the_box_is_read_one_float_step_inside(xor_problem, exact):
    """A float rounds a weight within a float step of the box's face onto it (NumPyro's
    logistic map rounds onto the face from about 18 units out: on the teacher rung's 2000
    draws of 1441 weights this happens now and then for exact samplers). Read as a chord of
    zero length, that one draw's position 0 failed the check at p ~ 1e-14; one float step
    inside, its position is small and positive, as an exact draw that close to the face
    has."""
    params = {k: np.array(v[:800]) for k, v in exact[0].items()}
    net, a = xor_problem.net, xor_problem.prior.a
    # the draw with the weight closest to a face, moved onto it (it stays in S)
    i, name, where = max(((i, k, np.unravel_index(np.argmax(np.abs(v[i])), v[i].shape))
                          for k, v in params.items() for i in range(len(v))),
                         key=lambda t: abs(params[t[1]][t[0]][t[2]]))
    params[name][i][where] = np.sign(params[name][i][where]) * a
    draw = {k: jax.numpy.asarray(v[i]) for k, v in params.items()}
    assert bool(xor_problem.constraint.in_set(net.apply(draw, xor_problem.X), xor_problem.y))
    result, u = chord.chord_check(xor_problem, params, jax.random.key(0))
    assert result.p_value > 0.01, result
    assert 0.0 < u[i] < 0.05 and "1 draw(s) with a weight on a face of the box" in result.detail
    # exact draws off the faces say nothing about faces
    plain, _ = chord.chord_check(xor_problem, {k: v[:800] for k, v in exact[0].items()}, jax.random.key(0))
    assert "face" not in plain.detail


def test_a_value_on_the_edge_of_its_support_is_read_inside_in_unconstrained_space(xor_problem, exact):
    """The same rounding for a model's sites: a box site's value on the face has an
    infinite unconstrained coordinate (the logistic map's inverse), which the old check
    read as position 0 (p ~ 1e-14 on these 400 exact draws). It is moved the fewest float steps
    toward the support's centre that give a finite coordinate; a value outside the
    support is not pulled in."""
    from consistent_nets.extend import make_target

    target = make_target(xor_problem.model, *xor_problem.model_args)
    params = {k: np.array(v[:400]) for k, v in exact[0].items()}
    a = xor_problem.prior.a
    i, name, where = max(((i, k, np.unravel_index(np.argmax(np.abs(v[i])), v[i].shape))
                          for k, v in params.items() for i in range(len(v))),
                         key=lambda t: abs(params[t[1]][t[0]][t[2]]))
    params[name][i][where] = np.sign(params[name][i][where]) * a
    result, u = chord.chord_check(target, params, jax.random.key(5))
    assert result.p_value > 0.01, result
    # (far out in the logistic map's tail, not at the chord's end: any position in (0, 1))
    assert 0.0 < u[i] < 1.0 and "1 draw(s) with a value on the edge of its support" in result.detail
    plain, _ = chord.chord_check(target, {k: v[:400] for k, v in exact[0].items()}, jax.random.key(5))
    assert "edge" not in plain.detail
    # outside the support: not moved, position 0
    params[name][i][where] = np.sign(params[name][i][where]) * a * 1.01
    outside, u_out = chord.chord_check(target, params, jax.random.key(5))
    assert u_out[i] == 0.0 and "edge" not in outside.detail
