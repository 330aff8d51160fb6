"""The summary a run of the suite ends with: totals, the counts by tag where something differs,
and one line per unregistered finding with its size."""

from __future__ import annotations

from parity_tests import summary
from parity_tests.compare import Comparison
from parity_tests.findings import Record


def _record(check, tag, status, comparison=None, tolerance="update"):
    return Record(check, tag, "", tolerance, status, comparison)


def test_summary_counts_by_status_and_tag_and_lists_unregistered_findings():
    records = [
        _record("a/agree", "BUG", "agree", Comparison(True, 0, 0, "", (), 0.1)),
        _record("a/known", "DIFF", "known", Comparison(False, 1, 0.2, "['w'][0]", (), 3.0)),
        _record("a/value", "CRITDIFF", "differs",
                Comparison(False, 1e-2, 4.87e-3, "['x'][29, 79]", (), 48.7)),
        _record("a/probe", "BUG", "differs",
                Comparison(False, 0, 0, "", ("pattern differs at t=3",), float("nan")),
                tolerance="property"),
        _record("a/shape", "BUG", "differs",
                Comparison(False, float("nan"), float("nan"), "", ("missing ['y']",),
                           float("inf"))),
        _record("a/absent", "DIFF", "not provided"),
    ]
    lines = summary.render(records)
    assert lines[0] == ("6 checks: 1 agree, 1 differ (registered), 3 differ (unregistered), "
                        "1 not provided")
    table = {line.split()[0]: line.split()[1:] for line in lines[1:5]}
    assert table["[BUG]"] == ["1", "-", "2", "-", "-", "-", "-"]
    assert table["[CRITDIFF]"] == ["-", "-", "1", "-", "-", "-", "-"]
    assert table["[DIFF]"] == ["-", "1", "-", "-", "-", "-", "1"]
    assert lines[5:] == [
        "unregistered findings (each fails the run):",
        "  [BUG] a/probe: pattern differs at t=3",
        "  [BUG] a/shape: structure: missing ['y']",
        "  [CRITDIFF] a/value: max rel 0.00487 at ['x'][29, 79], 48.7x allowed"]


def test_a_run_where_everything_agrees_is_one_line_and_a_run_of_nothing_none():
    agree = Comparison(True, 0, 0, "", (), 0.1)
    assert summary.render([_record("a/x", "BUG", "agree", agree)]) == ["1 checks: 1 agree"]
    assert summary.render([]) == []
