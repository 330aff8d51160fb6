"""The real suite run in a subprocess against a target module a test writes: what the tests of
the target protocol (declared absent, reduced losses) share."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_against(tmp_path: Path, module: str, source: str, factory: str, checks,
                timeout: float = 900) -> tuple[subprocess.CompletedProcess, dict]:
    """Write `source` as `module`.py into tmp_path, run pytest on `checks` with
    `--target module:factory`; -> (the run, {check: findings row})."""
    (tmp_path / f"{module}.py").write_text(source)
    findings = tmp_path / f"{factory}.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *checks, "--target", f"{module}:{factory}",
         "-p", "no:cacheprovider", "-q", "--findings-json", str(findings)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    rows = json.loads(findings.read_text()) if findings.exists() else []
    return run, {row["check"]: row for row in rows}
