"""`python -m parity_tests history` on a small git repository of its own: a target whose two-hot
bins are right, then wrong, then do not import, then right again. The real suite runs at each
commit (only the bins checks: a few seconds each); the history names the commit where the
finding appeared, the one that could not be compared, and the one where it disappeared; a rerun
reuses what was kept."""

from __future__ import annotations

import subprocess

from parity_tests import __main__ as commands

RIGHT = ("from parity_tests.targets.reimpl_target import make_target as _reimpl\n"
         "from types import SimpleNamespace\n\n"
         "def make_target():\n    return SimpleNamespace(twohot_bins=_reimpl().twohot_bins)\n")
WRONG = ("import numpy as np\nfrom types import SimpleNamespace\n\n"
         "def make_target():  # bins evenly spaced in raw space: no symexp\n"
         "    return SimpleNamespace(twohot_bins=lambda n: np.linspace(-20, 20, n))\n")
BROKEN = "import no_such_module_here\n"


def _commit(repo, text, message):
    (repo / "mine.py").write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", "mine.py"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qm", message], check=True)
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


def test_history_names_the_commits_where_a_finding_appeared_and_disappeared(tmp_path, capsys,
                                                                             monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    first = _commit(repo, RIGHT, "right bins")
    wrong = _commit(repo, WRONG, "raw-space bins")
    broken = _commit(repo, BROKEN, "broken import")
    fixed = _commit(repo, RIGHT, "bins fixed")
    monkeypatch.chdir(tmp_path)  # --out relative to here, each run in its own worktree
    argv = ["history", "--repo", "repo", "--target", "mine:make_target", "--out", "kept",
            f"{first}..{fixed}", "--", "-k", "test_twohot_bins"]
    assert commands.main(argv) == 1  # one commit could not be compared
    out = capsys.readouterr().out
    assert "[4/4]" in out and "min left" in out
    lines = out.split("\n\n", 1)[1].splitlines()
    assert lines[0].startswith(f"{first[:10]} right bins: 3 checks, 0 finding(s) at the start")
    assert lines[1].startswith(f"{wrong[:10]} raw-space bins: appeared twohot/bins/")
    assert lines[2].startswith(f"{broken[:10]} broken import: not compared, ERROR: --target "
                               "'mine:make_target': cannot import it")
    assert lines[3].startswith(f"{fixed[:10]} bins fixed: disappeared twohot/bins/")
    story = [line for line in lines if line.startswith("  twohot/bins/255:")]
    assert len(story) == 1
    assert story[0].startswith(f"  twohot/bins/255: appeared at {wrong[:10]} ([DIFF] differs")
    assert story[0].endswith(f"; disappeared at {fixed[:10]} ([DIFF] agree)")
    assert not subprocess.run(["git", "-C", str(repo), "worktree", "list", "--porcelain"],
                              capture_output=True, text=True).stdout.count("worktree ") - 1
    assert commands.main(argv) == 1  # a rerun reads what was kept
    assert capsys.readouterr().out.split("\n\n", 1)[1] == out.split("\n\n", 1)[1]
