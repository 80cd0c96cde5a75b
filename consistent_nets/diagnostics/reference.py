"""The reference sample: a tree the user gives, or exact rejection draws made on demand.

``reference="rejection"`` runs ``cn.sample(problem_or_model, ..., method="rejection")`` for
``min(N, 1000)`` draws within a budget of ``2**22`` prior draws. When the tree's
``log_volume`` attr estimates the acceptance rate ``p = exp(log_volume)`` and the expected
cost ``num / p`` exceeds the budget, it raises ``ValueError`` before sampling.
``reference="auto"`` does the same but returns no reference (and the reference check is
then not applicable) instead of raising, so it is safe on problems of any size.
"""

from __future__ import annotations

import math
import warnings


from .._errors import InfeasibleError
from .._api import sample
from ..samplers import Rejection
from .._trees import check_tree

__all__ = ["resolve_reference", "REJECTION_BUDGET"]

#: prior draws the automatic rejection reference may spend.
REJECTION_BUDGET = 2**22


def resolve_reference(reference, tree, subject, rng_key, num: int):
    """``(reference tree or None, note)``; ``subject`` is the :class:`.draws.Subject` sampled."""
    if reference is None:
        return None, "none"
    if not isinstance(reference, str):
        return check_tree(reference, "reference"), "given"
    if reference not in ("rejection", "auto"):
        raise ValueError(f"reference must be None, a DataTree, 'rejection' or 'auto', got {reference!r}")
    num = int(min(max(num, 2000), 4000))
    log_volume = float(tree.attrs.get("log_volume", math.nan))
    if math.isfinite(log_volume) and num * math.exp(-log_volume) > REJECTION_BUDGET:
        message = (
            f"reference='rejection' needs about {num * math.exp(-log_volume):.3g} prior draws "
            f"(log vol(S) = {log_volume:.3g}), over the budget of {REJECTION_BUDGET}; pass a "
            "reference DataTree instead"
        )
        if reference == "auto":
            return None, "skipped: " + message
        raise ValueError(message)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = sample(
                subject.problem if subject.problem is not None else subject.model,
                *(() if subject.problem is not None else subject.model_args),
                method=Rejection(max_draws=REJECTION_BUDGET),
                num_samples=num,
                num_chains=1,
                rng_key=rng_key,
                progress_bar=False,
                **subject.model_kwargs,
            )
    except InfeasibleError as err:
        if reference == "auto":
            return None, f"skipped: {err}"
        raise ValueError(f"reference='rejection' found no draw in S within {REJECTION_BUDGET} prior draws") from err
    post = ref["posterior"]
    got = int(post.sizes["chain"] * post.sizes["draw"])
    if got < 50:
        if reference == "auto":
            return None, f"skipped: rejection found only {got} draws in S"
        raise ValueError(f"reference='rejection' found only {got} draws in S within its budget")
    return ref, f"rejection ({got} draws)"
