"""The installed suite from a folder that is not this repository: its pytest11 entry point
brings the options, fixtures and markers (it was registered only by this repository's root
conftest: `fixture 'target' not found` elsewhere), and a run ends with the parity summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points


def test_the_plugin_is_an_entry_point_named_as_its_module():
    (point,) = [e for e in entry_points(group="pytest11") if e.value == "parity_tests.plugin"]
    assert point.name == "parity_tests.plugin"


def test_a_check_runs_from_another_folder_and_ends_with_the_summary(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "parity_tests", "-k",
         "test_returns_lambda_return_matches_official", "-p", "no:cacheprovider",
         "--strict-markers", "--findings-json", str(tmp_path / "findings.json")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    # --strict-markers: collecting every module needs the plugin's slow and power markers
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"rootdir: {tmp_path}" in run.stdout  # not this repository's configuration
    assert "parity: parity_tests.targets.reimpl_target:make_target" in run.stdout
    assert "1 checks: 1 agree" in run.stdout
    (row,) = json.loads((tmp_path / "findings.json").read_text())
    assert row["check"].startswith("returns/") and row["status"] == "agree"
