"""The real suite against a target whose pieces are malformed, one way each: a result without
a key (imagination_loss without `weight`: the time-index probe on it is "not provided", it
crashed with KeyError), an array one step short (replay_loss's repval), a piece that raises
(world_model_terms). Each is one line in the run's output, never a traceback (issue 25 item 4).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = '''
from types import SimpleNamespace
from parity_tests.targets import reimpl_outputs_target

def make_target():
    good = reimpl_outputs_target.make_target()

    def imagination_loss(preset, inputs, retnorm):
        result = dict(good.imagination_loss(preset, inputs, retnorm))
        del result["weight"]
        return result

    def replay_loss(preset, inputs):
        result = dict(good.replay_loss(preset, inputs))
        result["repval"] = result["repval"][:, :-1]
        return result

    def world_model_terms(preset, inputs):
        raise ValueError("decoder not built for these shapes")

    return SimpleNamespace(imagination_loss=imagination_loss, replay_loss=replay_loss,
                           world_model_terms=world_model_terms)
'''


def test_each_malformed_result_is_one_line(tmp_path):
    (tmp_path / "malformed_target.py").write_text(TARGET)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    env.pop("PARITY_TRACEBACK", None)
    findings = tmp_path / "findings.json"
    run = subprocess.run(
        [sys.executable, "-m", "pytest",
         "parity_tests/test_time_index.py::test_time_index[time_index/imag/con->weight]",
         "parity_tests/test_actor_critic_outputs.py::test_actor_critic_quantity[imag-weight]",
         "parity_tests/test_actor_critic_outputs.py::test_actor_critic_quantity[repl-repval]",
         "parity_tests/test_world_model_outputs.py::test_world_model_term[rew]",
         "--target", "malformed_target:make_target", "-p", "no:cacheprovider", "-q",
         "--tb=short", "--findings-json", str(findings)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    output = run.stdout + run.stderr
    assert run.returncode == 1, output[-3000:]
    assert "Traceback" not in output and "KeyError" not in output, output[-3000:]
    assert ("the target's piece replay_loss returned repval of shape (4, 7), expected "
            "[B, K-1] (4, 8)") in output
    assert "During handling" not in output
    assert ("the target's piece world_model_terms raised ValueError: decoder not built for "
            "these shapes") in output
    rows = {row["check"]: row["status"] for row in json.loads(findings.read_text())}
    assert rows["time_index/imag/con->weight"] == "not provided"
    assert rows["outputs/imag/weight"] == "not provided"
