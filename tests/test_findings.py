"""The registry gate: unregistered findings fail at once; a registered difference that
agrees in every example of a run is reported as vanished; in CI a piece the default target
lacks fails, one a third-party target lacks is reported and skipped."""

from __future__ import annotations

import json

import numpy as np
import pytest

from parity_tests.findings import Known, Recorder, write_json
from parity_tests.target import DEFAULT_TARGET

CHECK = "area/quantity/variant"


def _recorder(registered: bool) -> Recorder:
    registry = {CHECK: Known(CHECK, "DIFF", "accepted")} if registered else {}
    return Recorder(registry=registry, target="test")


def _check(recorder, ours):
    return recorder.check(CHECK, "DIFF", "a quantity", np.asarray(ours), np.asarray([1.0]),
                          "elementwise")


def test_unregistered_difference_fails():
    with pytest.raises(pytest.fail.Exception, match="unregistered finding"):
        _check(_recorder(False), [2.0])


def test_registered_difference_passes_and_stays_registered():
    recorder = _recorder(True)
    _check(recorder, [1.0])  # one example agrees by chance...
    _check(recorder, [2.0])  # ...another differs: the difference still reproduces
    assert recorder.vanished() == []
    assert recorder.by_check[CHECK].status == "known"


def test_registered_difference_that_always_agrees_has_vanished():
    recorder = _recorder(True)
    _check(recorder, [1.0])
    _check(recorder, [1.0])
    assert recorder.vanished() == [CHECK]
    assert recorder.by_check[CHECK].status == "vanished"


class _Bare:
    """A target without any piece."""


def _missing_piece(recorder):
    return recorder.piece(_Bare(), "lambda_return", "returns/lambda/values", "BUG", "returns")


def test_default_target_missing_piece_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    recorder = Recorder(registry={}, target=DEFAULT_TARGET)
    with pytest.raises(pytest.fail.Exception, match="'lambda_return'.*must provide"):
        _missing_piece(recorder)
    assert recorder.by_check["returns/lambda/values"].status == "not provided"


def test_default_target_missing_piece_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    recorder = Recorder(registry={}, target=DEFAULT_TARGET)
    with pytest.raises(pytest.skip.Exception):
        _missing_piece(recorder)
    assert recorder.by_check["returns/lambda/values"].status == "not provided"


def test_other_target_missing_piece_skips_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    recorder = Recorder(registry={}, target="thirdparty.target:make_target")
    with pytest.raises(pytest.skip.Exception, match="does not provide"):
        _missing_piece(recorder)
    assert recorder.by_check["returns/lambda/values"].status == "not provided"


def test_findings_json_marks_structural_failures(tmp_path):
    registry = {c: Known(c, "DIFF", "accepted") for c in ("a/shape", "a/values", "a/property")}
    recorder = Recorder(registry=registry, target="test")
    recorder.check("a/shape", "DIFF", "", np.zeros(2), np.zeros(3), "elementwise")
    recorder.check("a/values", "DIFF", "", np.ones(2), np.zeros(2), "elementwise")
    recorder.verdict("a/property", "DIFF", "", False, "the property fails")
    path = tmp_path / "findings.json"
    write_json(recorder.records, str(path))
    rows = {row["check"]: row for row in json.loads(path.read_text())}
    assert all(row["status"] == "known" for row in rows.values())
    assert rows["a/shape"]["structural"] and "shape" in rows["a/shape"]["summary"]
    assert not rows["a/values"]["structural"] and not rows["a/property"]["structural"]


def test_of_equally_good_examples_the_report_keeps_the_latest():
    recorder = Recorder(registry={}, target="test")
    for largest in ("1e+00", "3e+38"):
        recorder.verdict("a/finite", "BUG", "", True, "", f"finite up to {largest}")
    assert recorder.by_check["a/finite"].comparison.where == "finite up to 3e+38"


def _explained(recorder, alternative):
    return recorder.check("twohot/loss/targets", "BUG", "loss", np.asarray([2.0]),
                          np.asarray([1.0]), "elementwise",
                          [("another form", "MINOR", np.asarray([9.0])),
                           ("the target's own bins", "DIFF", np.asarray(alternative))])


def test_a_difference_that_is_a_known_variation_takes_its_tag_and_says_which():
    registry = {"twohot/loss/targets": Known("twohot/loss/targets", "DIFF", "accepted")}
    recorder = Recorder(registry=registry, target="test")
    record = _explained(recorder, [2.0])  # the official loss on the target's bins: agrees
    assert record.tag == "DIFF" and record.status == "known"
    assert "explained: the target's own bins" in record.comparison.where


def test_an_unexplained_difference_keeps_its_own_tag():
    with pytest.raises(pytest.fail.Exception, match=r"\[BUG\] unregistered"):
        _explained(_recorder(False), [5.0])  # no variation reproduces it


def test_a_value_difference_carries_its_form_into_the_json_and_the_summary(tmp_path):
    from parity_tests import summary

    registry = {c: Known(c, "DIFF", "accepted") for c in ("a/half", "a/shape")}
    recorder = Recorder(registry=registry, target="test")
    ref = np.linspace(1.0, 2.0, 8)
    recorder.check("a/half", "DIFF", "", ref / 2, ref, "elementwise")
    recorder.check("a/shape", "DIFF", "", np.zeros(2), np.zeros(3), "elementwise")
    with pytest.raises(pytest.fail.Exception, match="unregistered finding"):
        recorder.check("a/new", "BUG", "", np.roll(ref, 1), ref, "elementwise")
    path = tmp_path / "findings.json"
    write_json(recorder.records, str(path))
    rows = {row["check"]: row for row in json.loads(path.read_text())}
    assert rows["a/half"]["form"] == "scale-only x0.5" and rows["a/shape"]["form"] == ""
    assert rows["a/new"]["form"].startswith("changed: cosine 0.9")
    (line,) = [line for line in summary.render(recorder.records) if "a/new" in line]
    assert line.endswith("; " + rows["a/new"]["form"])


def test_a_difference_an_earlier_one_explains_follows_it_and_fails_nothing():
    from parity_tests import report

    recorder = Recorder(registry={}, target="test")
    ref = np.linspace(1.0, 2.0, 6)
    with pytest.raises(pytest.fail.Exception, match="unregistered finding a/ret"):
        recorder.check("a/ret", "CRITDIFF", "", ref * 2, ref, "elementwise")
    # the stage's own arithmetic on the target's returns gives the target's advantage
    record = recorder.check("a/adv", "CRITDIFF", "", ref * 2 - 1, ref - 1, "elementwise",
                            follows=lambda: (("a/ret",), ref * 2 - 1))
    assert record.status == "follows" and record.follows == ("a/ret",)
    record = recorder.check("a/loss", "CRITDIFF", "", ref * 4, ref, "elementwise",
                            follows=lambda: (("a/adv", "block/x"), ref * 4))
    assert report.first_causes(recorder.records) == {"a/ret": ["a/adv", "a/loss"],
                                                     "block/x": ["a/loss"]}
    # where the stage itself departs, or nothing before it differs, it is a first cause
    with pytest.raises(pytest.fail.Exception, match="unregistered finding a/own"):
        recorder.check("a/own", "BUG", "", ref * 3, ref, "elementwise",
                       follows=lambda: (("a/ret",), ref * 2))
    with pytest.raises(pytest.fail.Exception, match="unregistered finding a/none"):
        recorder.check("a/none", "BUG", "", ref * 3, ref, "elementwise",
                       follows=lambda: ((), ref * 3))


def test_first_causes_name_the_learning_signal_they_move():
    """Each first cause lists the heads whose loss gradient differs with it, with the form,
    and marks a gradient other first causes move too."""
    from parity_tests import report

    recorder = Recorder(registry={}, target="test")
    ref = np.linspace(1.0, 2.0, 6)
    record = recorder.check("outputs/imag/grad/policy/policy_logits", "CRITDIFF", "", ref / 4,
                            ref, "logit-gradient",
                            follows=lambda: (("block/a", "block/b"), ref / 4))
    assert record.status == "follows"
    recorder.check("outputs/world_model/grad/rew/reward_logits", "DIFF", "", ref * 0, ref,
                   "logit-gradient", follows=lambda: (("block/b",), ref * 0))
    lines = {line.split(" | ")[0]: line for line in report._first_causes(recorder.records)
             if line.startswith("| `block/")}
    assert lines["| `block/a` (a building block the target provides)"].endswith(
        "`policy_logits` (imagination policy)*: scale-only x0.25 |")
    assert "`reward_logits` (world model rew): zero: the target's quantity is 0 everywhere" in (
        lines["| `block/b` (a building block the target provides)"])


def test_a_tag_its_measured_signal_contradicts_is_listed_for_review():
    """A change of form ([DIFF]) that turns a head's gradient by more than 30 degrees is listed
    under "Tags to review"; one that only rescales it is not."""
    from parity_tests import report
    from parity_tests.findings import Known

    recorder = Recorder(registry={"block/a/x": Known("block/a/x", "DIFF", "its own bins"),
                                  "block/b/x": Known("block/b/x", "DIFF", "a mean")},
                        target="test")
    ref = np.linspace(1.0, 2.0, 6)
    for block in ("a", "b"):
        recorder.check(f"block/{block}/x", "CRITDIFF", "", ref * 2, ref, "elementwise")
    turned = np.array([1.0, -1.0] * 3)  # cosine with ref: -0.08
    recorder.check("outputs/imag/grad/value/value_logits", "CRITDIFF", "", turned, ref,
                   "logit-gradient", follows=lambda: (("block/a",), turned))
    recorder.check("outputs/repl/grad/repval/value_logits", "CRITDIFF", "", ref / 2, ref,
                   "logit-gradient", follows=lambda: (("block/b",), ref / 2))
    lines = report._first_causes(recorder.records)
    review = lines[lines.index("### Tags to review"):]
    assert any(line.startswith("- `block/a` [DIFF] turns `value_logits` (imagination value) by")
               for line in review)
    assert not any("block/b" in line for line in review)
