"""A target without a replay value loss says so (`absent = {"repval": reason}`): every check of
it is a finding with that reason and the tag of a missing term, [CRITDIFF], and the run passes;
the same target without the declaration gets "not provided" (issue 25 item 1). The real
suite, on the reimpl's own networks."""

from __future__ import annotations

import json

from target_runs import run_against

REASON = "our algorithm trains the critic on imagined returns only"
TARGET = f'''
from types import SimpleNamespace
from parity_tests.targets import reimpl_outputs_target

def make_target(declare=True):
    pieces = dict(vars(reimpl_outputs_target.make_target()))
    del pieces["replay_loss"]
    own_losses = pieces["own_losses"]

    def without_repval(*args):
        terms = dict(own_losses(*args))
        del terms["repval"]
        return terms

    pieces["own_losses"] = without_repval
    if declare:
        pieces["absent"] = {{"repval": {REASON!r}}}
    return SimpleNamespace(**pieces)


def undeclared():
    return make_target(declare=False)
'''
CHECKS = ["parity_tests/test_actor_critic_outputs.py::test_actor_critic_quantity[repl-repval]",
          "parity_tests/test_time_index.py::test_time_index[time_index/repl/reward->ret]",
          "parity_tests/test_structure.py::test_observe_time_index[action-replay]",
          "parity_tests/test_structure.py::test_gradient_flow_params[repval]"]


def _run(tmp_path, factory, checks=tuple(CHECKS)):
    return run_against(tmp_path, "no_repval", TARGET, factory, checks)


def test_declared_absent_terms_are_findings_with_their_reason(tmp_path):
    run, rows = _run(tmp_path, "make_target")
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert "4 passed" in run.stdout and "skipped" not in run.stdout
    assert len(rows) == 4
    for row in rows.values():
        assert (row["status"], row["tag"]) == ("absent", "CRITDIFF"), row
        assert REASON in row["summary"] or REASON in json.dumps(row)
    run, rows = _run(tmp_path, "undeclared", CHECKS[:1])  # the same target, undeclared
    assert rows["outputs/repl/repval"]["status"] == "not provided"
