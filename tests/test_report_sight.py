"""The report states what each check can see: the power measurements as a table."""

from __future__ import annotations

from parity_tests import report
from parity_tests.findings import Recorder


def test_report_lists_what_each_check_sees():
    recorder = Recorder(registry={}, target="t")
    recorder.sees("agent/loss/policy", "actent 0.0", 55.6, 10.0)
    text = report.render(recorder.records, recorder.registry, recorder.target, recorder.sight)
    assert "## What each check can see" in text
    assert "| `agent/loss/policy` | actent 0.0 | 55.6x | 10x |" in text


def test_report_without_power_measurements_has_no_table():
    assert "What each check can see" not in report.render([], {}, "t")
