"""Errors raised by consistent-nets."""

from __future__ import annotations

__all__ = ["InfeasibleError"]


class InfeasibleError(RuntimeError):
    """The solution set S is empty, or no method reached it within its budget.

    Parameters
    ----------
    message : str
        What was tried and what was found.
    log_volume_upper_bound : float
        An upper bound on log vol(S) (natural log of the prior probability of S)
        implied by what was tried, e.g. a 95 % bound from a rejection run with no
        accepted draw, or the tempered-SMC evidence at the last stage reached.
    """

    def __init__(self, message: str, log_volume_upper_bound: float):
        self.log_volume_upper_bound = float(log_volume_upper_bound)
        super().__init__(
            f"{message} (log vol(S) <= {self.log_volume_upper_bound:.4g})"
        )
