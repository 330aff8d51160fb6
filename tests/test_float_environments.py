"""The float-environment comparison (parity_tests/float_environments.py): verdicts must be the
same everywhere; a check's margins are shown side by side; bad input fails in one line."""

from __future__ import annotations

import pytest

from parity_tests import float_environments


def _row(check, status="agree", tag="DIFF", margin=0.5):
    return {"check": check, "status": status, "tag": tag, "margin": margin}


def test_identical_verdicts_have_no_disagreement_whatever_the_margins():
    results = {"default": [_row("a", margin=0.2)], "one-core": [_row("a", margin=0.9)]}
    assert float_environments.disagreements(results) == []
    assert float_environments.closest(results) == ["a: default 0.2, one-core 0.9"]


def test_a_status_that_changes_with_the_environment_is_named_with_each_verdict():
    results = {"default": [_row("a"), _row("b")],
               "xla-avx": [_row("a"), _row("b", status="differs", tag="CRITDIFF")]}
    assert float_environments.disagreements(results) == [
        "b: default agree [DIFF]; xla-avx differs [CRITDIFF]"]


def test_a_check_missing_in_one_environment_counts_as_not_run():
    results = {"default": [_row("a")], "one-core": []}
    assert float_environments.disagreements(results) == [
        "a: default agree [DIFF]; one-core not run [-]"]


def test_an_unknown_environment_is_refused_in_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        float_environments.main(["--only", "gpu"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "unknown environment 'gpu' (one of default, one-core, xla-avx)" in error


def test_the_environments_run_default_first_and_pass_pytest_arguments():
    environments, args, baseline = float_environments._parse(
        ["--only", "xla-avx", "--", "-k", "x"])
    assert [e.name for e in environments] == ["default", "xla-avx"] and args == ["-k", "x"]
    assert baseline is None


def test_a_missing_baseline_is_refused_before_any_run(capsys, tmp_path):
    with pytest.raises(SystemExit):
        float_environments.main(["--baseline", str(tmp_path / "none.json")])
    assert "no findings file at" in capsys.readouterr().err
