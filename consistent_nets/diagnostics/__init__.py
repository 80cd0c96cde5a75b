"""Diagnostics: how far is a sample from uniform on the solution set S?

One idea per module: :mod:`.membership`, :mod:`.mixing` (function-space R-hat/ESS),
:mod:`.chord` (reference-free exact uniformity along random chords), :mod:`.orbit`
(symmetry-orbit uniformity), :mod:`.volume` (log-volume agreement), :mod:`.weights`
(PSIS k-hat), :mod:`.populations` (do populations weight S's regions alike),
:mod:`.two_sample` (energy distance and per-feature KS against a reference), :mod:`.distance`
(the single TV-lower-bound number), :mod:`.calibrate` (planted-teacher SBC), all
gathered by :func:`diagnose` into a :class:`Report`.
"""

from .calibrate import Calibration, calibrate
from .diagnose import diagnose
from .report import CheckResult, Report

__all__ = ["Calibration", "CheckResult", "Report", "calibrate", "diagnose"]
