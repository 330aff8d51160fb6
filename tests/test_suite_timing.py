"""benchmarks.suite runs each step as its own process, all of them on one compilation cache
folder of the run's own (emptied for a step that starts cold), and tables exit codes and the
last line of each."""

from __future__ import annotations

import sys


def test_suite_timings_run_each_step_with_its_cache(monkeypatch):
    from benchmarks import suite

    script = "import os, sys; print(os.environ['JAX_COMPILATION_CACHE_DIR']); sys.exit(3)"
    monkeypatch.setattr(suite, "steps", lambda with_mutants: [
        suite.Step("first", [sys.executable, "-c", script], "empty"),
        suite.Step("second", [sys.executable, "-c", script], "warm")])
    table = suite.run(False)
    assert [row[:2] for row in table.rows] == [["first", "empty"], ["second", "warm"]]
    assert [row[3] for row in table.rows] == ["3", "3"]
    # One cache folder of the run's own, handed to every step.
    assert table.rows[0][4] == table.rows[1][4] and "dreamer-parity" not in table.rows[0][4]
    assert suite._minutes(75) == "1 min 15 s" and suite._minutes(9.61) == "9.6 s"
