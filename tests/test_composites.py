"""A composite that differs follows from its parts that differ (parity_tests/composites.py):
a weight-level loss from its loss arithmetic, networks and rollout wiring, an output-level
quantity from its time-index probes; a composite with no differing part stays a first cause."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from parity_tests import composites, report
from parity_tests.findings import Record, Recorder


def _record(check, status, tag="DIFF"):
    return Record(check, tag, "", "forward", status)


def _recorder(*records) -> Recorder:
    recorder = Recorder(registry={}, target="toy")
    for record in records:
        recorder.by_check[record.check] = record
    return recorder


def _differing_check(recorder, check):
    return recorder.check(check, "CRITDIFF", "a loss", np.ones(4, np.float32),
                          np.zeros(4, np.float32), "forward")


def test_a_loss_on_shared_weights_follows_from_the_module_that_differs():
    recorder = _recorder(_record("networks/dec/image", "differs"),
                         _record("networks/rew", "agree"),
                         _record("outputs/world_model/image", "agree"))
    record = _differing_check(recorder, "world_model/loss/image")
    assert (record.status, record.follows) == ("follows", ("networks/dec/image",))
    groups = report.first_causes(recorder.records)
    assert groups == {"networks/dec/image": ["world_model/loss/image"]}


def test_only_the_modules_a_term_reads_are_its_parts():
    recorder = _recorder(_record("networks/dec/image", "differs"))
    with pytest.raises(pytest.fail.Exception, match="unregistered finding world_model/loss/rew"):
        _differing_check(recorder, "world_model/loss/rew")
    assert recorder.by_check["world_model/loss/rew"].status == "differs"
    assert "networks/dec/image" not in composites.patterns("agent/loss/policy")
    assert "networks/enc" not in composites.patterns("vector_obs/loss/policy")


def test_loss_arithmetic_wiring_and_gradient_flow_are_parts_too():
    recorder = _recorder(_record("outputs/imag/policy", "follows", "CRITDIFF"),
                         _record("time_index/observe/action->imagination", "differs", "BUG"),
                         _record("gradient_flow/params/policy", "differs", "BUG"),
                         _record("time_index/observe/action->replay", "differs", "BUG"))
    loss = _differing_check(recorder, "agent/loss/policy")
    assert loss.follows == ("outputs/imag/policy", "time_index/observe/action->imagination")
    gradient = _differing_check(recorder, "gradients/agent/policy")
    assert "gradient_flow/params/policy" in gradient.follows


def test_a_look_here_probe_is_no_part_that_differs():
    recorder = _recorder(_record("time_index/repl/is_last->weight", "differs", "TOCHECK"))
    with pytest.raises(pytest.fail.Exception):
        _differing_check(recorder, "outputs/repl/weight")


def test_a_value_row_follows_from_the_time_index_its_probe_names():
    recorder = _recorder(_record("time_index/repl/is_last->weight", "differs", "BUG"),
                         _record("time_index/repl/reward->ret", "agree", "BUG"))
    record = _differing_check(recorder, "outputs/repl/weight")
    assert record.follows == ("time_index/repl/is_last->weight",)
    assert composites.parts_that_differ(recorder.by_check, "outputs/repl/ret") == ()
    assert composites.patterns("outputs/imag/grad/policy/policy_logits") == (
        "time_index/imag/*->policy",)


def test_a_composite_agreeing_stays_agreeing():
    recorder = _recorder(_record("networks/dec/image", "differs"))
    record = recorder.check("world_model/loss/image", "DIFF", "a loss", np.ones(3), np.ones(3),
                            "forward")
    assert record.status == "agree"


def test_parts_run_before_the_composites_made_of_them():
    def item(path):
        return SimpleNamespace(fspath=path)

    names = ["tests/test_x.py", "parity_tests/test_agent.py",
             "parity_tests/test_actor_critic_outputs.py", "parity_tests/test_networks.py",
             "parity_tests/test_time_index.py", "parity_tests/test_world_model.py",
             "tests/test_world_model.py"]
    ordered = [i.fspath for i in composites.parts_first([item(n) for n in names])]
    assert ordered == ["tests/test_x.py", "parity_tests/test_networks.py",
                       "parity_tests/test_time_index.py", "tests/test_world_model.py",
                       "parity_tests/test_actor_critic_outputs.py",
                       "parity_tests/test_agent.py", "parity_tests/test_world_model.py"]
