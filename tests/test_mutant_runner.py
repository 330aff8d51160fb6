"""The mutant runner without running the suite: only value differences catch, a red baseline
stops the run, and a run past its timeout is a verdict, not a crash."""

from __future__ import annotations

import json
import subprocess

import pytest

from parity_tests.mutants import __main__ as runner
from parity_tests.mutants.diagnosis import baseline_problems, diagnose, judge


def _row(check, tag="CRITDIFF", status="differs", structural=False):
    return {"check": check, "tag": tag, "status": status, "structural": structural}


def test_structural_failures_are_not_catches():
    rows = [_row("latents/kl/values", structural=True),
            _row("world_model/loss/dyn", "DIFF"), _row("gradients/world_model/dyn")]
    diagnosis = diagnose(rows)
    assert diagnosis.tag == "DIFF" and diagnosis.deciding == ("world_model/loss/dyn",)
    assert diagnosis.caught_by == ("world_model/loss/dyn", "gradients/world_model/dyn")
    assert diagnosis.structural == ("latents/kl/values",)
    assert diagnosis.verdict("DIFF") == "caught"


def test_a_mutant_seen_only_by_structural_checks_is_crashed_or_shape_only():
    rows = [_row("twohot/bins/255", "BUG", structural=True),
            _row("agent/loss/value", structural=True), _row("twohot/finite", "BUG", "agree")]
    verdict, diagnosis = judge(rows, 1, "BUG")
    assert verdict == "crashed/shape only" and diagnosis.tag is None
    assert diagnosis.caught_by == () and len(diagnosis.structural) == 2
    table_row = runner._row("symexp-overflow", verdict, diagnosis)
    assert table_row[3].startswith("structure only: `twohot/bins/255`")
    assert table_row[4:] == ("-", "crashed/shape only", "-")


def test_row_lists_value_catches_then_structural_checks():
    diagnosis = diagnose([_row("twohot/finite", "BUG"), _row("twohot/bins/255", "BUG",
                                                             structural=True)])
    cell = runner._row("symexp-overflow", "caught", diagnosis)[3]
    assert cell == "`twohot/finite`; structure only: `twohot/bins/255`"


def test_rows_without_the_structural_field_count_as_values():
    assert diagnose([{"check": "twohot/finite", "tag": "BUG", "status": "differs"}]).tag == "BUG"


@pytest.mark.parametrize(("exit_code", "records", "expected"), [
    (None, None, "timed out"), (2, [], "suite error"), (4, [], "suite error"),
    (1, None, "suite error"), (0, [], "survived"), (1, [_row("twohot/finite", "BUG")], "caught"),
    (1, [_row("twohot/finite", "DIFF")], "wrong tag"),
], ids=["timeout", "interrupted", "usage-error", "no-findings", "green", "caught", "wrong-tag"])
def test_judge_reads_the_exit_code_first(exit_code, records, expected):
    assert judge(records, exit_code, "BUG")[0] == expected


def test_baseline_green_only_without_differences_and_with_exit_zero():
    rows = [_row("twohot/finite", "BUG", "agree"), _row("schedule/updates/x", "CONFIG", "known")]
    assert baseline_problems(rows, 0) == []
    red = baseline_problems(rows + [_row("latents/kl/values"),
                                    _row("keys/policy/x", "BUG", "vanished")], 1)
    assert red == ["latents/kl/values: differs", "keys/policy/x: vanished",
                   "pytest exited with code 1"]
    assert baseline_problems(rows, 2) == ["pytest exited with code 2"]
    assert baseline_problems(None, 0) == ["pytest wrote no findings"]
    assert "timed out" in baseline_problems(None, None)[0]


def test_run_suite_times_out_into_a_verdict(tmp_path):
    def too_slow(command, timeout, **kwargs):
        raise subprocess.TimeoutExpired(command, timeout)

    run = runner.run_suite("kl-mean", tmp_path, 0.5, runner=too_slow)
    assert run.exit_code is None and run.records is None and "0.5 s" in run.output
    assert judge(run.records, run.exit_code, "CRITDIFF")[0] == "timed out"


def test_run_suite_reads_the_findings_and_passes_the_timeout(tmp_path):
    seen = {}

    def fake(command, timeout, **kwargs):
        seen.update(command=command, timeout=timeout)
        path = command[command.index("--findings-json") + 1]
        with open(path, "w") as file:
            json.dump([_row("latents/kl/values")], file)
        return subprocess.CompletedProcess(command, 1, "1 failed", "")

    run = runner.run_suite("kl-mean", tmp_path, 900, runner=fake)
    assert seen["timeout"] == 900 and seen["command"][-2:] == ["--mutant", "kl-mean"]
    assert run.exit_code == 1 and run.records == [_row("latents/kl/values")]
    baseline = runner.run_suite(None, tmp_path, 900, runner=fake)
    assert "--mutant" not in seen["command"] and baseline.exit_code == 1


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        runner.main(["--help"])
    text = capsys.readouterr().out
    assert all(option in text for option in (
        "--only", "--write", "--timeout", "--architecture-free", "--ci-sample", "baseline"))


def test_architecture_free_runs_the_marked_mutants_against_a_target_without_weight_pieces(
        tmp_path):
    from parity_tests.targets import reimpl_outputs_target, reimpl_target

    marked = runner.selected("", architecture_free=True)
    assert "replay-bootstrap-from-critic" in marked and "shared-key" not in marked
    own = [n for n, m in runner.MUTANTS.items() if m.own_architecture]
    assert "learned-initial-state" in own and set(own) <= set(marked)
    assert runner.selected("", architecture_free=False) == [
        n for n in runner.MUTANTS if n not in own]  # they cannot take the official weights
    assert runner.selected("kl-mean", architecture_free=True) == ["kl-mean"]
    full, free = vars(reimpl_target.make_target()), vars(reimpl_outputs_target.make_target())
    assert set(full) - set(free) == set(reimpl_outputs_target.WEIGHT_PIECES)
    assert {"imagination_loss", "replay_loss", "world_model_terms"} <= set(free)

    seen = {}

    def fake(command, timeout, **kwargs):
        seen["command"] = command
        return subprocess.CompletedProcess(command, 0, "", "")

    runner.run_suite(None, tmp_path, 900, runner.ARCHITECTURE_FREE_TARGET, runner=fake)
    assert seen["command"][seen["command"].index("--target") + 1] == (
        runner.ARCHITECTURE_FREE_TARGET)
    assert "parity_tests" in seen["command"]  # the whole suite: every check it can take


def test_the_ci_sample_runs_each_sampled_mutant_once_with_every_tag_in_each_pass():
    main = runner.selected("", architecture_free=False, ci_sample=True)
    free = runner.selected("", architecture_free=True, ci_sample=True)
    sampled = {name for name, m in runner.MUTANTS.items() if m.ci_sample}
    assert not set(main) & set(free) and set(main) | set(free) == sampled
    assert all(runner.MUTANTS[n].architecture_free for n in free)
    every_tag = {m.tag for m in runner.MUTANTS.values()}
    assert {runner.MUTANTS[n].tag for n in main} == every_tag
    assert {runner.MUTANTS[n].tag for n in free} == {
        m.tag for m in runner.MUTANTS.values() if m.architecture_free}


def test_select_runs_a_mutant_on_the_checks_that_call_what_it_replaces(tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(runner, "run_suite", lambda name, workdir, timeout, target, extra=():
                        asked.append((name, extra)) or runner.SuiteRun([], 1, ""))
    record = {"<outside any check>": [], "unwatched": [], "fixtures": {}, "checks": {
        "parity_tests/test_latents.py::test_latents_kl_values[a b]": {
            "calls": ["reimpl.rssm.kl_losses"], "fixtures": []},
        "parity_tests/test_returns.py::test_returns": {"calls": [], "fixtures": []}}}
    runner._run_mutant("kl-mean", tmp_path, 900, runner.DEFAULT_TARGET, record)
    (name, extra), = asked
    assert name == "kl-mean" and extra[0] == "--checks-from"
    assert (tmp_path / "kl-mean.checks").read_text() == (
        "parity_tests/test_latents.py::test_latents_kl_values[a b]\n")
    # A mutant no check calls survives without a run; without a recording every check runs.
    survived = runner._run_mutant("no-warmup", tmp_path, 900, runner.DEFAULT_TARGET, record)
    assert runner.judge(survived.records, survived.exit_code, "CRITDIFF")[0] == "survived"
    runner._run_mutant("no-warmup", tmp_path, 900, runner.DEFAULT_TARGET, None)
    assert asked[-1] == ("no-warmup", ())


def test_the_measured_cell_gives_form_signal_and_a_tag_to_review():
    # A [DIFF] whose difference turns the value head's gradient by 60 degrees: the measured
    # form and the signal it moves stand beside the tag, and the disagreement is flagged.
    rows = [{**_row("outputs/imag/adv", "DIFF"), "form": "changed: cosine 0.8, norm x1"},
            {**_row("outputs/imag/grad/value/value_logits", "DIFF"), "form":
             "changed: cosine 0.5, norm x1.2"}]
    diagnosis = diagnose(rows)
    cell = runner._row("slow-critic-targets", "wrong tag", diagnosis, rows)[6]
    assert cell == ("form: changed: cosine 0.8, norm x1; signal: `value_logits` (imagination "
                    "value): changed: cosine 0.5, norm x1.2; **tag to review**: turns "
                    "`value_logits` (imagination value) by 60 degrees (changed: cosine 0.5, "
                    "norm x1.2)")
    # A rescaling that turns nothing reads as measured, with nothing to review.
    scaled = [{**_row("latents/kl/values", "CRITDIFF"), "form": "scale-only x0.0312"}]
    assert runner._row("kl-mean", "caught", diagnose(scaled), scaled)[6] == (
        "form: scale-only x0.0312")
    # A setting that explains the deciding check is named first.
    config = [{**_row("outputs/imag/ret", "CONFIG"), "form": "changed: cosine 1, norm x0.97",
               "summary": "max abs 0.1, max rel 0.03 at [0, 3]; explained: imag_loss.lam 0.9 "
                          "(official 0.95)"}]
    assert runner._row("imagination-lambda-in-code", "caught", diagnose(config), config)[6] == (
        "explained: imag_loss.lam 0.9 (official 0.95); form: changed: cosine 1, norm x0.97")
