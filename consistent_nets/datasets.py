"""Datasets that ship with the package (nothing is downloaded at run time)."""

from __future__ import annotations

import jax
import numpy as np

from ._nets import MLP
from ._priors import BoxPrior, Prior

__all__ = ["xor", "moons", "random_labels", "teacher", "teacher_labels", "digits", "load", "NAMES", "DEFAULT_N"]

#: the shipped datasets by name, as the command line and the benchmarks call them
NAMES = ("xor", "moons", "random-labels", "teacher", "digits")
#: their default number of points (XOR has four, always)
DEFAULT_N = {"moons": 100, "random-labels": 40, "teacher": 100, "digits": 128}


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR points: X (4, 2) float32 in {-1, 1}², y (4,) in {-1, +1}."""
    X = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=np.float32)
    y = np.array([-1, 1, 1, -1], dtype=np.int32)
    return X, y


def moons(n: int = 100, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's two moons, standardised; y in {-1, +1}."""
    from sklearn.datasets import make_moons

    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    X, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X.astype(np.float32), (2 * y - 1).astype(np.int32)


def random_labels(n: int = 40, d: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal inputs with independent fair ±1 labels (no structure to learn)."""
    if n < 1 or d < 1:
        raise ValueError(f"n and d must be >= 1, got n={n}, d={d}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.choice(np.array([-1, 1], dtype=np.int32), size=n)
    return X, y


def teacher_labels(net: MLP, w_star: dict, X, constraint=None, rng_key=None) -> np.ndarray:
    """Targets that the teacher ``w*`` fits: labels or regression targets of ``net_{w*}(X)``.

    ``sign f`` (one output) or ``argmax f`` (several) for classification (``constraint``
    ``None`` or a ``Margin``); for a ``Tube(eps)``, ``f + u`` with ``u ~ Uniform(-eps, eps)``
    drawn with ``rng_key``, shape ``(n,)`` for one output.
    """
    f = np.asarray(net.apply(w_star, X))
    eps = getattr(constraint, "eps", None)
    if eps is not None:
        noise = np.asarray(jax.random.uniform(rng_key, f.shape, minval=-eps, maxval=eps))
        return (f + noise)[:, 0] if net.d_out == 1 else f + noise
    if net.d_out == 1:
        return np.where(f[:, 0] >= 0, 1, -1).astype(np.int32)
    return np.argmax(f, axis=1).astype(np.int32)


def teacher(net: MLP, n: int = 100, prior: Prior | None = None, seed: int = 0):
    """A planted teacher: ``w* ~ prior``, X standard normal, y = labels of ``net_{w*}(X)``.

    ``w*`` is an exact draw from S of its own problem (uniform-on-S calibration).

    Returns
    -------
    X : (n, d_in) float32
    y : (n,) labels: ±1 when ``d_out == 1``, else argmax class indices
    w_star : dict of the teacher's weights
    """
    if not isinstance(net, MLP):
        raise ValueError(f"net must be a cn.MLP, got {type(net).__name__}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    prior = BoxPrior(3.0) if prior is None else prior
    key = jax.random.key(seed)
    k_w, k_x = jax.random.split(key)
    draws = prior.sample(k_w, net.param_shapes, 1)
    w_star = {k: np.asarray(v[0]) for k, v in draws.items()}
    X = np.asarray(jax.random.normal(k_x, (n, net.d_in)), dtype=np.float32)
    return X, teacher_labels(net, w_star, X), w_star


def digits(classes: tuple[int, ...] = (0, 7), n: int = 128, seed: int = 0):
    """``n`` 8×8 digits of the given classes from scikit-learn's bundled set.

    Pixels scaled to [0, 1]. Two classes give y in {-1, +1} (first class -1);
    more give integer labels ``0..len(classes)-1`` in the order given.
    """
    from sklearn.datasets import load_digits

    classes = tuple(int(c) for c in classes)
    if len(classes) < 2 or len(set(classes)) != len(classes) or not all(0 <= c <= 9 for c in classes):
        raise ValueError(f"classes must be >= 2 distinct digits in 0..9, got {classes}")
    data = load_digits()
    mask = np.isin(data.target, classes)
    X_all, t_all = data.data[mask] / 16.0, data.target[mask]
    if n < 1 or n > len(t_all):
        raise ValueError(f"n must be in 1..{len(t_all)} for classes {classes}, got {n}")
    idx = np.random.default_rng(seed).permutation(len(t_all))[:n]
    X, t = X_all[idx].astype(np.float32), t_all[idx]
    index = np.array([classes.index(c) for c in t], dtype=np.int32)
    y = (2 * index - 1).astype(np.int32) if len(classes) == 2 else index
    return X, y


def load(name: str, n: int | None = None, seed: int = 0, net: MLP | None = None, prior: Prior | None = None):
    """A shipped dataset by name (one of :data:`NAMES`): ``(X, y)``.

    ``n`` defaults to :data:`DEFAULT_N`; XOR has four points and refuses another ``n``.
    ``random-labels`` takes its input width from ``net`` (default 2); ``teacher`` needs
    ``net`` and ``prior`` (default ``BoxPrior(3)``); ``digits`` are the classes 3 and 5.
    """
    if name not in NAMES:
        raise ValueError(f"dataset must be one of {', '.join(NAMES)}, got {name!r}")
    if name == "xor":
        if n is not None and n != 4:
            raise ValueError(f"n does not apply to xor (always 4 points), got {n}")
        return xor()
    n = DEFAULT_N[name] if n is None else n
    if name == "moons":
        return moons(n, 0.1, seed)
    if name == "random-labels":
        return random_labels(n, 2 if net is None else net.d_in, seed)
    if name == "teacher":
        if net is None:
            raise ValueError("net is required for the teacher dataset")
        X, y, _ = teacher(net, n, prior, seed)
        return X, y
    return digits(classes=(3, 5), n=n, seed=seed)
