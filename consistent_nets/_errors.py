"""The error raised when the solution set S is empty or was not reached."""

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
        accepted draw, ``-inf`` when S is provably empty (or null), or ``0.0`` when
        what was tried bounds nothing.
    """

    def __init__(self, message: str, log_volume_upper_bound: float):
        self.log_volume_upper_bound = float(log_volume_upper_bound)
        super().__init__(
            f"{message} (log vol(S) <= {self.log_volume_upper_bound:.4g})"
        )

    def __reduce__(self):
        # picklable across processes (the message already carries the bound)
        message = str(self).rsplit(" (log vol(S) <=", 1)[0]
        return (type(self), (message, self.log_volume_upper_bound))
