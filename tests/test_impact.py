"""benchmarks.impact: the paired difference and its standard error, the report's verdicts
(changed beyond 2 standard errors, else "not seen at this budget"; a quantity the mutant
redefines never counts as a change), one-line refusals, and one short comparison end to end
in processes of their own (the mutant planted in the trained program, not in this one)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from benchmarks.impact import __main__ as impact
from benchmarks.impact import mutated, report, run_one, signals
from parity_tests.mutants.catalogue import Mutant
from reimpl.train import learner as learner_lib


def _lines(values: dict[str, list[float]], start: int = 64) -> list[dict]:
    count = len(next(iter(values.values())))
    return [{"env_steps": start + 64 * i, **{k: v[i] for k, v in values.items()}}
            for i in range(count)]


def test_window_is_the_mean_of_the_iterations_before_the_budget():
    lines = _lines({"loss/rew": [9.0, 1.0, 2.0, 3.0]})  # at 64, 128, 192, 256
    window = signals.window(lines, "loss/rew", 256, 192)
    assert (window.mean, window.count) == (2.0, 3)
    assert window.noise == pytest.approx(1.0 / math.sqrt(3))
    assert signals.window(lines, "ent/action", 256, 192) is None


def test_paired_error_is_the_larger_of_seed_spread_and_window_noise():
    w = signals.Window
    spread = signals.paired({0: w(2.0, 0.0, 4), 1: w(4.0, 0.0, 4)},
                            {0: w(1.0, 0.0, 4), 1: w(1.0, 0.0, 4)})
    assert (spread.delta, spread.se, spread.baseline) == (2.0, 1.0, 1.0)  # deltas 1, 3
    assert not spread.seen  # 2.0 is not beyond 2 x 1.0
    # Two seeds that agree exactly: the window noise still bounds the error from below.
    agree = signals.paired({0: w(2.0, 0.3, 4), 1: w(2.0, 0.3, 4)},
                           {0: w(1.0, 0.4, 4), 1: w(1.0, 0.4, 4)})
    assert agree.se == pytest.approx(math.sqrt(2 * (0.09 + 0.16)) / 2)
    assert agree.seen
    assert signals.paired({0: w(1.0, 0.0, 1)}, {1: w(1.0, 0.0, 1)}) is None
    assert signals.paired({0: w(2.0, 0.0, 1)}, {0: w(1.0, 0.0, 1)}).se == math.inf


def _runs(mutant: str, shift: dict[str, float]) -> report.Runs:
    base = {name: [1.0, 1.1, 0.9, 1.0] for name, _ in signals.SIGNALS}
    evaluation = {"env_steps": 256, "episodes": 64, "return_mean": 1.5, "return_std": 1.0,
                  "achievements": {"collect_wood": 0.5}}
    runs: report.Runs = {report.BASELINE: {}, mutant: {}}
    for seed in (0, 1):
        runs[report.BASELINE][seed] = {"lines": _lines(base), "evaluation": evaluation}
        moved = {k: [x + shift.get(k, 0.0) for x in v] for k, v in base.items()}
        runs[mutant][seed] = {"lines": _lines(moved), "evaluation": evaluation}
    return runs


def test_summary_names_what_changed_and_never_a_redefined_quantity():
    runs = _runs("kl-mean", {"loss/rew": 0.5, "loss/dyn": -3.0})
    line = report.summary(runs, "kl-mean", [128, 256], 128, 256)
    # 0.5 on window means of 1.05 at 128 and 0.95 at 256.
    assert line == "changed: loss/rew +48% at 128 to +53% at 256"
    rows = "\n".join(report.table(runs, "kl-mean", [128, 256], 128, 256))
    assert "(own definition)" in rows and "**+0.5 ± " in rows
    assert report._percent(-3.3e-4) == "-0.033%" and report._percent(0.0) == "+0%"
    assert "| evaluated return | 1.5 |" in rows


def test_within_the_noise_is_not_seen_at_this_budget_never_no_effect():
    runs = _runs("no-straight-through", {"loss/rew": 0.01})
    assert report.summary(runs, "no-straight-through", [128, 256], 128, 256) == (
        "not seen at this budget (up to 256 env steps: every signal within 2 standard errors)")
    assert report.summary({report.BASELINE: {}, "x": {}}, "x", [256], 256, 256) == "not run yet"


def test_a_mutant_learner_is_named_by_the_catalogue_and_one_per_process(monkeypatch):
    with pytest.raises(learner_lib.LearnerUnavailable, match="has no function 'no-such'"):
        learner_lib.load_factory("benchmarks.impact.mutated:no-such")
    planted = []
    for name in ("a", "b"):
        monkeypatch.setitem(mutated.MUTANTS, name, Mutant(name, "DIFF", name, planted.append))
    monkeypatch.setattr(mutated, "_planted", [])
    mutated.plant("a")
    mutated.plant("a")
    assert len(planted) == 1
    with pytest.raises(ValueError, match="already carries mutant 'a'"):
        mutated.plant("b")


def test_impact_refuses_bad_input_in_one_line(capsys, tmp_path):
    with pytest.raises(SystemExit) as stopped:
        impact.main(["--mutants", "kl-mean,nope"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err == ("python -m benchmarks.impact: error: --mutants: unknown "
                                       "nope; see python -m benchmarks.impact --list (see "
                                       "--help)\n")
    impact._claim(impact._parse(["--logdir", str(tmp_path)]))
    impact._claim(impact._parse(["--logdir", str(tmp_path), "--env-steps", "16384",
                                 "--mutants", "kl-mean"]))  # extended, fewer mutants shown
    with pytest.raises(impact.Refused, match=r"--seeds \[0, 1\] \(this run: \[0\]\)"):
        impact._claim(impact._parse(["--logdir", str(tmp_path), "--seeds", "0"]))


def test_a_short_comparison_trains_the_mutant_and_reports_it(tmp_path):
    # 320 env steps: 256 fill the replay, the last 64 run 8 updates. KL averaged over the
    # 32 latents stays under the free nats at initialisation, so the planted mutant's KL loss
    # is exactly 1 where the unmutated one is about 4.5: proof that the mutant is in the
    # trained program. About two minutes on 2 cores.
    out = tmp_path / "IMPACT.md"
    subprocess.run([sys.executable, "-m", "benchmarks.impact", "--mutants", "kl-mean",
                    "--seeds", "0", "--env-steps", "320", "--signal-every", "320",
                    "--episodes", "1", "--eval-envs", "1", "--logdir", str(tmp_path / "runs"),
                    "--out", str(out)], check=True, capture_output=True)
    trained = {arm: [line["loss/dyn"] for line in signals.read(tmp_path / "runs" / arm / "seed0")
                     if "loss/dyn" in line] for arm in ("unmutated", "kl-mean")}
    assert trained["kl-mean"] == [1.0] and trained["unmutated"][0] > 2.0
    for arm in trained:
        evaluated = json.loads((tmp_path / "runs" / arm / "seed0" / run_one.EVALUATION)
                               .read_text())
        assert evaluated["env_steps"] == 320 and evaluated["episodes"] == 1
    text = out.read_text()
    assert "## `kl-mean`" in text and "the parity suite tags it [CRITDIFF]" in text
    assert "(own definition)" in text
