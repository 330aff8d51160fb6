"""The real suite run in a subprocess against a target: what the tests of the target protocol
(declared absent, reduced losses, PyTorch targets) share."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_suite(tmp_path: Path, spec: str, checks, extra=(), timeout: float = 900
              ) -> tuple[subprocess.CompletedProcess, dict]:
    """pytest on `checks` (paths, then any options) with `--target spec`, tmp_path importable;
    -> (the run, {check: findings row})."""
    findings = tmp_path / "findings.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *checks, "--target", spec, *extra,
         "-p", "no:cacheprovider", "-q", "--findings-json", str(findings)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    rows = json.loads(findings.read_text()) if findings.exists() else []
    return run, {row["check"]: row for row in rows}


def run_against(tmp_path: Path, module: str, source: str, factory: str, checks,
                timeout: float = 900) -> tuple[subprocess.CompletedProcess, dict]:
    """Write `source` as `module`.py into tmp_path, run pytest on `checks` with
    `--target module:factory`; -> (the run, {check: findings row})."""
    (tmp_path / f"{module}.py").write_text(source)
    return run_suite(tmp_path, f"{module}:{factory}", checks, timeout=timeout)
