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


def test_report_has_a_summary_a_legend_and_no_arbitrary_worst_element():
    from parity_tests import compare
    from parity_tests.findings import Record

    exact = Record("a/b/c", "DIFF", "d", "forward", "agree",
                   compare.Comparison(True, 0.0, 0.0, "['x'][0]", ()))
    floor = Record("a/b/d", "DIFF", "d", "forward", "agree",
                   compare.Comparison(True, 1e-6, 0.5, "['y'][1]", ()))
    text = report.render([exact, floor], {}, "t")
    assert "Summary: 2 checks; 2 agree" in text and "**[BUG]**" in text
    assert "| `a/b/c` | agrees | forward | 0 | 0.00e+00 | 0.00e+00 | - | - (equal) |" in text
    assert "agrees (within the absolute floor)" in text


def test_report_shows_each_margin_and_lists_the_checks_near_their_bound():
    from parity_tests import compare
    from parity_tests.findings import Record

    near = Record("a/near", "DIFF", "d", "forward", "agree",
                  compare.Comparison(True, 1e-6, 1e-6, "['x'][0]", (), 0.93))
    far = Record("a/far", "DIFF", "d", "forward", "agree",
                 compare.Comparison(True, 1e-8, 1e-8, "['x'][0]", (), 0.01))
    unbounded = Record("a/property", "DIFF", "d", "property", "agree",
                       compare.Comparison(True, 0.0, 0.0, "fine", (), float("nan")))
    text = report.render([near, far, unbounded], {}, "t")
    assert "| `a/near` | agrees | forward | 0.93 |" in text
    assert "| `a/far` | agrees | forward | 0.01 |" in text
    assert "| `a/property` | agrees | property | - |" in text
    assert "(the first to fail on another machine): `a/near` 0.93." in text
