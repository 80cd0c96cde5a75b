"""Check results and the ``Report`` that gathers them: table, HTML, xarray round-trip."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

__all__ = ["CheckResult", "Report", "not_applicable"]


@dataclass(frozen=True)
class CheckResult:
    """One diagnostic: its statistic, its p-value or threshold, and the verdict.

    Attributes
    ----------
    name : str
    statistic : float
        The check's statistic (see ``detail`` for what it is).
    p_value : float
        ``nan`` for threshold checks.
    threshold : float
        The critical value of a threshold check, or the level the p-value is compared
        to (after the report's Bonferroni correction).
    passed : bool or None
        ``None`` when the check is not applicable (it then does not count).
    null : str
        One line: what holds for an exact uniform sample on S (the null hypothesis).
    detail : str
        One line: what the statistic is, or why the check is not applicable.
    """

    name: str
    statistic: float
    p_value: float
    threshold: float
    passed: bool | None
    null: str
    detail: str = ""

    @property
    def applicable(self) -> bool:
        return self.passed is not None

    @property
    def verdict(self) -> str:
        return "n/a" if self.passed is None else ("pass" if self.passed else "FAIL")


def not_applicable(name: str, null: str, why: str) -> CheckResult:
    return CheckResult(name, math.nan, math.nan, math.nan, None, null, why)


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.3g}"


@dataclass(frozen=True)
class Report:
    """How far a sample is from uniform on S: checks, an overall verdict, one distance.

    Attributes
    ----------
    checks : Mapping[str, CheckResult]
    passed : bool
        Every applicable check passed (p-value checks at ``alpha / k`` with ``k`` the
        number of applicable p-value checks, threshold checks at their thresholds), the
        core checks ran and the distance is finite.
    distance : float
        Estimated lower bound on the total-variation distance between the draws'
        distribution and uniform on S, in ``[0, 1]`` (see :func:`diagnose`).
    distance_noise : float
        The 95 % quantile of ``distance`` for an exact uniform sample of this size: a
        distance below it is indistinguishable from zero.
    alpha : float
        Family-wise level of the verdict.
    info : Mapping[str, float or str]
        Sizes and settings (number of draws, probes, reference used).
    inconclusive : str
        Why the report can say neither passed nor failed (the core checks, chord and
        function-space mixing, did not run, or there is no distance); empty otherwise.
    advice : tuple of str
        What to try, one line per cause of failure (see
        :mod:`consistent_nets.diagnostics.advice`); empty when nothing failed.
    """

    checks: Mapping[str, CheckResult]
    passed: bool
    distance: float
    distance_noise: float
    alpha: float
    info: Mapping[str, object] = field(default_factory=dict)
    inconclusive: str = ""
    advice: tuple[str, ...] = ()

    def __post_init__(self):
        if self.passed and (self.inconclusive or not math.isfinite(self.distance)):
            raise ValueError("a passed report needs the core checks and a finite distance")

    @property
    def verdict(self) -> str:
        """``"passed"``, ``"failed"`` or ``"inconclusive"`` (``passed`` is then False)."""
        if self.passed:
            return "passed"
        return "inconclusive" if self.inconclusive else "failed"

    def _headline(self) -> str:
        return self.verdict.upper() + (f": {self.inconclusive}" if self.inconclusive else "")

    def __getitem__(self, name: str) -> CheckResult:
        return self.checks[name]

    def _rows(self):
        for c in self.checks.values():
            yield (c.name, _fmt(c.statistic), _fmt(c.p_value), _fmt(c.threshold), c.verdict, c.detail)

    def __str__(self) -> str:
        head = ("check", "statistic", "p-value", "threshold", "verdict", "what")
        rows = [head, *self._rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = [
            f"consistent-nets diagnostics: {self._headline()} (family-wise alpha = {self.alpha:g})",
            f"distance from uniform on S (TV lower bound): {self._distance_text()}",
        ]
        for r in rows:
            lines.append("  ".join(r[i].ljust(widths[i]) for i in range(5)) + "  " + r[5])
        lines += ["what to try:", *(f"  - {a}" for a in self.advice)] if self.advice else []
        return "\n".join(lines)

    def _distance_text(self, bold=lambda text: text) -> str:
        if not math.isfinite(self.distance):
            return "not estimated (no chord or reference test ran)"
        return f"{bold(f'{self.distance:.3g}')} (noise level {self.distance_noise:.3g})"

    def __repr__(self) -> str:
        return f"Report(verdict={self.verdict!r}, distance={self.distance:.3g}, checks={list(self.checks)})"

    def _repr_html_(self) -> str:
        verdict = html.escape(self._headline())
        colour = {"passed": "#1a7f37", "failed": "#cf222e"}.get(self.verdict, "#9a6700")
        cells = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in self._rows()
        )
        head = "".join(f"<th>{h}</th>" for h in ("check", "statistic", "p-value", "threshold", "verdict", "what"))
        advice = "".join(f"<li>{html.escape(a)}</li>" for a in self.advice)
        advice = f"what to try:<ul>{advice}</ul>" if advice else ""
        return (
            f"<div><b style='color:{colour}'>{verdict}</b> (family-wise &alpha; = {self.alpha:g}); "
            f"distance from uniform on S (TV lower bound): {self._distance_text(lambda t: f'<b>{t}</b>')}"
            f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>{advice}</div>"
        )

    def to_dataset(self) -> xr.Dataset:
        """The report as an ``xarray.Dataset`` (dim ``check``), e.g. for ``tree["diagnostics"]``."""
        checks = list(self.checks.values())
        coded = [-1 if c.passed is None else int(c.passed) for c in checks]
        ds = xr.Dataset(
            {
                "statistic": ("check", np.array([c.statistic for c in checks], dtype=float)),
                "p_value": ("check", np.array([c.p_value for c in checks], dtype=float)),
                "threshold": ("check", np.array([c.threshold for c in checks], dtype=float)),
                "passed": ("check", np.array(coded, dtype=np.int8)),
                "null": ("check", np.array([c.null for c in checks], dtype=object)),
                "detail": ("check", np.array([c.detail for c in checks], dtype=object)),
            },
            coords={"check": np.array([c.name for c in checks], dtype=object)},
        )
        ds["passed"].attrs["flag_meanings"] = "-1: not applicable, 0: failed, 1: passed"
        ds.attrs.update(
            passed=int(self.passed),
            distance=float(self.distance),
            distance_noise=float(self.distance_noise),
            alpha=float(self.alpha),
            verdict=self.verdict,
            inconclusive=self.inconclusive,
            advice="\n".join(self.advice),
        )
        for key, value in self.info.items():
            ds.attrs[f"info_{key}"] = value
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> Report:
        """Inverse of :meth:`to_dataset`."""
        if not isinstance(ds, xr.Dataset) or "check" not in ds.dims:
            raise ValueError("ds must be a Dataset written by Report.to_dataset")
        checks = {}
        for i, name in enumerate(ds["check"].values):
            code = int(ds["passed"].values[i])
            checks[str(name)] = CheckResult(
                str(name),
                float(ds["statistic"].values[i]),
                float(ds["p_value"].values[i]),
                float(ds["threshold"].values[i]),
                None if code < 0 else bool(code),
                str(ds["null"].values[i]),
                str(ds["detail"].values[i]),
            )
        info = {k[len("info_"):]: v for k, v in ds.attrs.items() if k.startswith("info_")}
        return cls(
            checks,
            bool(ds.attrs["passed"]),
            float(ds.attrs["distance"]),
            float(ds.attrs["distance_noise"]),
            float(ds.attrs["alpha"]),
            info,
            str(ds.attrs.get("inconclusive", "")),
            tuple(a for a in str(ds.attrs.get("advice", "")).split("\n") if a),
        )
