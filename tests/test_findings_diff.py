"""`python -m parity_tests diff`: what changed between two runs' findings, as markdown, and the
gate's exit status (1 only for an unregistered finding the base did not have)."""

from __future__ import annotations

import json

import pytest

from parity_tests import __main__ as commands
from parity_tests import findings_diff


def _rows(**checks):
    return {check.replace("_", "/"): {"check": check.replace("_", "/"), "tag": tag,
                                      "status": status, "max_rel": size}
            for check, (tag, status, size) in checks.items()}


def test_each_kind_of_change_is_found_once():
    base = _rows(a_new=("BUG", "agree", 0.0), a_gone=("DIFF", "known", 0.1),
                 a_tag=("DIFF", "known", 0.1), a_reg=("CRITDIFF", "known", 0.1),
                 a_size=("DIFF", "known", 0.01), a_same=("DIFF", "known", 0.01))
    head = _rows(a_new=("BUG", "differs", 0.3), a_gone=("DIFF", "agree", 0.0),
                 a_tag=("CRITDIFF", "known", 0.1), a_reg=("CRITDIFF", "differs", 0.1),
                 a_size=("DIFF", "known", 0.05), a_same=("DIFF", "known", 0.015))
    found = {c.check: c.kind for c in findings_diff.changes(base, head)}
    assert found == {"a/new": "appeared", "a/gone": "disappeared", "a/tag": "tag",
                     "a/reg": "registration", "a/size": "size"}
    new = [c.check for c in findings_diff.changes(base, head) if c.unregistered_new]
    assert new == ["a/new", "a/reg"]


def test_a_check_the_head_did_not_run_is_said_so():
    base = _rows(a_x=("DIFF", "known", 0.1))
    (change,) = findings_diff.changes(base, {})
    assert change.kind == "disappeared" and change.after == "not run"


def test_the_command_prints_markdown_and_gates_on_new_unregistered(tmp_path, capsys):
    base, head, out = tmp_path / "base.json", tmp_path / "head.json", tmp_path / "comment.md"
    base.write_text(json.dumps(list(_rows(a_x=("BUG", "agree", 0.0)).values())))
    head.write_text(json.dumps(list(_rows(a_x=("BUG", "differs", 0.25)).values())))
    assert commands.main(["diff", str(base), str(head), "--output", str(out)]) == 1
    printed = capsys.readouterr().out
    assert printed == out.read_text()
    assert printed.startswith("### DreamerV3 parity: 1 new unregistered finding")
    assert "| `a/x` | [BUG] | agree | differs (max rel 0.25) |" in printed
    assert commands.main(["diff", str(head), str(head)]) == 0
    assert "nothing changed" in capsys.readouterr().out


@pytest.mark.parametrize("content, message", [
    (None, "no findings file at"), ("{", "is not JSON"),
    ('[{"check": "a"}]', "is not a findings file"),
], ids=["missing", "not-json", "not-findings"])
def test_a_bad_findings_file_is_one_line(tmp_path, capsys, content, message):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text("[]")
    if content is not None:
        bad.write_text(content)
    with pytest.raises(SystemExit) as stopped:
        commands.main(["diff", str(good), str(bad)])
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]  # after argparse's usage
    assert error.startswith("python -m parity_tests diff: error: ") and message in error


def test_an_unknown_command_names_the_commands(capsys):
    assert commands.main(["difff"]) == 2
    captured = capsys.readouterr()
    assert "unknown command 'difff'" in captured.err and "diff " in captured.out
