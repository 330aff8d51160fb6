"""docs/GATE.md's workflow for a researcher's repository is valid YAML whose every suite
option exists: a renamed option would break every repository that copied it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from parity_tests import findings_diff

DOC = Path(__file__).resolve().parents[1] / "docs" / "GATE.md"


def _workflow() -> dict:
    block = DOC.read_text().split("```yaml\n", 1)[1].split("```", 1)[0]
    return yaml.safe_load(block)


def test_the_workflow_runs_base_head_and_the_diff():
    steps = _workflow()["jobs"]["parity"]["steps"]
    runs = [step.get("run", "") for step in steps]
    assert sum("--findings-json" in run for run in runs) == 2
    assert any("python -m parity_tests diff" in run for run in runs)


def test_every_option_the_workflow_passes_exists():
    runs = " ".join(step.get("run", "") for step in _workflow()["jobs"]["parity"]["steps"]
                    if "python -m p" in step.get("run", ""))  # pytest and parity_tests
    plugin = (DOC.parents[1] / "parity_tests" / "plugin.py").read_text()
    pytest_options = set(re.findall(r'addoption\("(--[\w-]+)"', plugin))
    diff_options = set(re.findall(r'add_argument\("(--[\w-]+)"',
                                  Path(findings_diff.__file__).read_text()))
    used = set(re.findall(r"\s(--[a-z][\w-]+)", runs)) - {"--pyargs"}
    assert used <= pytest_options | diff_options, used - pytest_options - diff_options
    assert {"--target", "--registry", "--findings-json", "--output"} <= used
