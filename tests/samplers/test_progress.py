"""The progress bar: only where a person watches (a terminal, Jupyter), never in pipes or CI."""

import io

import pytest

from consistent_nets.samplers.progress import Progress, eta_seconds, progress_enabled


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def no_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)


def test_shown_on_a_terminal_only(no_ci):
    assert progress_enabled(True, Terminal())
    assert not progress_enabled(True, io.StringIO())  # a pipe or a log file
    assert not progress_enabled(False, Terminal())


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_never_under_ci(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    assert not progress_enabled(True, Terminal())


def test_a_hidden_bar_is_a_no_op(monkeypatch):
    monkeypatch.setenv("CI", "true")
    bar = Progress(True, desc="smc", unit="stage", total=None)
    assert bar.bar is None
    bar.stage(3, {"beta": "0.1"}, (0.01, 0.25))
    bar.close()


def test_compiling_then_stages_with_an_eta(no_ci, monkeypatch):
    out = Terminal()
    monkeypatch.setattr("sys.stderr", out)
    bar = Progress(True, desc="smc", unit="stage", total=None)
    assert "smc: compiling…" in out.getvalue()
    for stage, fraction in enumerate([0.0, 0.01, 0.02, 0.04], start=1):
        bar.stage(stage, {"beta": f"{stage:.3g}", "in_S": f"{fraction:.2f}"}, (fraction, 0.25))
    bar.close()
    text = out.getvalue()
    assert "beta=4" in text and "in_S=0.04" in text and "eta=" in text and "eta=?" in text


def test_eta_extrapolates_geometric_growth():
    assert eta_seconds([(10.0, 0.01), (11.0, 0.02), (12.0, 0.04)], 0.16) == pytest.approx(2.0)
    assert eta_seconds([(10.0, 0.3), (11.0, 0.3), (12.0, 0.3)], 0.25) == 0.0
    assert eta_seconds([(1.0, 0.01), (2.0, 0.02)], 0.16) is None  # too few stages
    assert eta_seconds([(1.0, 0.02), (2.0, 0.02), (3.0, 0.01)], 0.16) is None  # no growth
