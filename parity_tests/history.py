"""`python -m parity_tests history`: which commit of your code brought or removed each finding.

Runs the suite (or a `-k` selection) against the target at every commit of a range, each in a
git worktree of its own (your checkout is not touched), and prints, per finding, the commits
where it appeared, disappeared, changed tag or registration (`findings_diff.py` between
consecutive commits). A commit where the target does not import, or whose run errors, is
reported as such and left out of the comparison, never silently.

    python -m parity_tests history --repo ../mydreamer --target mypkg.parity:make_target \\
        HEAD~10..HEAD -- -k "returns or outputs"

Each commit's findings are kept in --out (default .parity-history/), one JSON file per commit:
a rerun (after Ctrl-C, or with more commits) reuses them, so nothing finished is run twice.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import findings_diff


class HistoryError(ValueError):
    """Bad input found before any run: the message says what to do."""


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise HistoryError(f"git {' '.join(args)} in {repo}: {result.stderr.strip()}")
    return result.stdout.strip()


def commits(repo: Path, revisions: str) -> list[tuple[str, str]]:
    """(sha, subject) oldest first: for A..B the commit A itself, then every commit after it up
    to B (first parents), so the first change is seen against its parent."""
    if ".." in revisions:
        start, _, _ = revisions.partition("..")
        listed = git(repo, "rev-list", "--first-parent", "--reverse", revisions).split()
        shas = [git(repo, "rev-parse", "--verify", f"{start or 'HEAD'}^{{commit}}"), *listed]
    else:
        shas = [git(repo, "rev-parse", "--verify", f"{revisions}^{{commit}}")]
    return [(sha, git(repo, "log", "-1", "--format=%s", sha)) for sha in shas]


@dataclass(frozen=True)
class Run:
    sha: str
    subject: str
    rows: dict[str, dict] | None  # None: no findings (the target did not import, an error)
    problem: str = ""


def _problem(output: str, code: int) -> str:
    """The one line that says why a run gave no findings (pytest's usage error, or the last
    line of its output)."""
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines or [f"pytest exited with code {code}"])[-1].strip()[:300]


def run_commit(repo: Path, sha: str, target: str, registry: str | None, pytest_args: list[str],
               out: Path) -> tuple[dict[str, dict] | None, str]:
    """The suite against the target at one commit, in a worktree removed afterwards; findings
    JSON kept at out/<sha>.json ("error" written beside it when the run gave none)."""
    findings, failure = out / f"{sha}.json", out / f"{sha}.error"
    if findings.is_file():
        return findings_diff.load(findings), ""
    if failure.is_file():
        return None, failure.read_text()
    with tempfile.TemporaryDirectory(prefix="parity-history-") as folder:
        tree = Path(folder) / "tree"
        git(repo, "worktree", "add", "--detach", "--quiet", str(tree), sha)
        try:
            env = {**os.environ,
                   "PYTHONPATH": os.pathsep.join(filter(None, (str(tree),
                                                               os.environ.get("PYTHONPATH"))))}
            command = [sys.executable, "-m", "pytest", "--pyargs", "parity_tests", "--target",
                       target, "-q", "-p", "no:cacheprovider", "--findings-json",
                       str(findings.with_suffix(".partial")), *pytest_args]
            if registry:
                command += ["--registry", str(tree / registry)]
            result = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
        finally:
            git(repo, "worktree", "remove", "--force", str(tree))
    partial = findings.with_suffix(".partial")
    if result.returncode in (0, 1) and partial.is_file():
        partial.rename(findings)
        return findings_diff.load(findings), ""
    partial.unlink(missing_ok=True)
    problem = _problem(result.stdout + result.stderr, result.returncode)
    failure.write_text(problem)
    return None, problem


def report(runs: list[Run]) -> list[str]:
    """Per commit, what changed since the last commit that ran; then per finding its story."""
    lines, stories, previous = [], {}, None
    for run in runs:
        head = f"{run.sha[:10]} {run.subject[:60]}"
        if run.rows is None:
            lines.append(f"{head}: not compared, {run.problem}")
            continue
        if previous is None:
            found = findings_diff.changes({}, run.rows)
            lines.append(f"{head}: {len(run.rows)} checks, {len(found)} finding(s) at the start")
        else:
            found = findings_diff.changes(previous.rows, run.rows)
            lines.append(f"{head}: " + (", ".join(f"{c.kind} {c.check}" for c in found)
                                        or "no change"))
        for change in found:
            stories.setdefault(change.check, []).append(
                f"{change.kind} at {run.sha[:10]} ("
                + (change.after if change.kind == "tag" else f"[{change.tag}] {change.after}")
                + ")")
        previous = run
    if stories:
        lines += ["", "per finding:"]
        lines += [f"  {check}: " + "; ".join(story) for check, story in sorted(stories.items())]
    return lines


def main(argv: list[str], prog: str) -> int:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__.split("\n\n")[0],
        epilog="Arguments after -- go to pytest (e.g. -- -k returns). Exit status: 0 when every "
               "commit ran, 1 when some could not be compared.")
    parser.add_argument("revisions", help="a commit range A..B (A included, as the start) or "
                                          "one commit")
    parser.add_argument("--repo", type=Path, default=Path.cwd(),
                        help="the git repository of your code (default: the current folder)")
    parser.add_argument("--target", required=True,
                        help="the target, 'package.module:factory', importable from the "
                             "repository's root at each commit")
    parser.add_argument("--registry", default=None,
                        help="the registry file, relative to the repository's root, read at "
                             "each commit (default: none, every difference is a finding)")
    parser.add_argument("--out", type=Path, default=Path(".parity-history"),
                        help="where each commit's findings are kept and reused "
                             "(default: .parity-history)")
    parser.add_argument("pytest_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        git(args.repo, "rev-parse", "--git-dir")
        found = commits(args.repo, args.revisions)
    except HistoryError as error:
        parser.error(str(error))
    # absolute: each run's pytest works in its own worktree
    args.out, args.repo = args.out.resolve(), args.repo.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    runs, started = [], time.monotonic()
    for number, (sha, subject) in enumerate(found, 1):
        ran = number - 1
        eta = (f", about {(time.monotonic() - started) / ran * (len(found) - ran) / 60:.1f} min "
               "left" if ran else "")
        print(f"[{number}/{len(found)}] {sha[:10]} {subject[:60]}{eta}", flush=True)
        rows, problem = run_commit(args.repo, sha, args.target, args.registry,
                                   list(args.pytest_args), args.out)
        runs.append(Run(sha, subject, rows, problem))
    print("\n" + "\n".join(report(runs)))
    return 0 if all(run.rows is not None for run in runs) else 1
