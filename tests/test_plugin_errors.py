"""The suite's own options: a bad --target, --mutant or --registry stops pytest with one usage
error line (exit 4) before any test runs. They were a setup-error traceback per test (with an
unrelated test still passing), INTERNALERROR, or, for a misspelled registry path, silently an
empty registry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _pytest(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    """pytest with the parity plugin on one test that needs no target."""
    (tmp_path / "test_unrelated.py").write_text("def test_unrelated():\n    pass\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
         "parity_tests.plugin", "--rootdir", str(tmp_path), str(tmp_path), *options],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def _error_line(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    assert "passed" not in run.stdout and "INTERNALERROR" not in run.stdout + run.stderr
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("spec, message", [
    ("nosuch.module:make", "ERROR: --target 'nosuch.module:make': cannot import it (No module "
                           "named 'nosuch')"),
    ("badtarget", "ERROR: --target must look like 'package.module:factory', got 'badtarget'"),
    ("badtarget:nothing", "ERROR: --target 'badtarget:nothing': module 'badtarget' has no "
                          "'nothing'"),
    ("badtarget:make", "ERROR: --target 'badtarget:make': its factory raised RuntimeError: no "
                       "accelerator (for the traceback: python -c 'import badtarget; "
                       "badtarget.make()')"),
], ids=["no-module", "no-factory-name", "no-such-factory", "factory-raises"])
def test_a_bad_target_is_one_usage_error(tmp_path, spec, message):
    (tmp_path / "badtarget.py").write_text(
        "def make():\n    raise RuntimeError('no accelerator')\n")
    assert _error_line(_pytest(tmp_path, "--target", spec)) == message


def test_an_unknown_mutant_is_one_usage_error(tmp_path):
    line = _error_line(_pytest(tmp_path, "--mutant", "banana"))
    assert line.startswith("ERROR: --mutant 'banana' is not in the catalogue; one of shared-key")


@pytest.mark.parametrize("text, message", [
    (None, "no registry file at {path}"),
    ("[[difference]\ncheck = 'x'", "{path} is not valid TOML: "),
    ("difference = 3", "{path}: 'difference' must be an array of tables"),
    ("[[difference]]\ncheck = 'a/b'\ntag = 'DIFF'", "{path}: difference #1 lacks reason"),
    ("[[difference]]\ncheck = 'a/b'\ntag = 'MAYBE'\nreason = 'r'",
     "{path}: check 'a/b' has unknown tag 'MAYBE' (one of BUG, "),
    ("[[difference]]\ncheck = 'a/b'\ntag = 'DIFF'\nreason = 'r'\n" * 2,
     "{path}: check 'a/b' is registered twice"),
], ids=["misspelled-path", "bad-toml", "not-tables", "no-reason", "unknown-tag", "twice"])
def test_a_missing_or_malformed_registry_is_one_usage_error(tmp_path, text, message):
    path = tmp_path / "registry.toml"
    if text is not None:
        path.write_text(text)
    line = _error_line(_pytest(tmp_path, "--registry", str(path)))
    assert line.startswith("ERROR: --registry: " + message.format(path=path))


def test_good_options_still_run_the_tests(tmp_path):
    path = tmp_path / "registry.toml"
    path.write_text("[[difference]]\ncheck = 'a/b'\ntag = '[DIFF]'\nreason = 'accepted'\n")
    run = _pytest(tmp_path, "--registry", str(path))
    assert run.returncode == 0 and "1 passed" in run.stdout
