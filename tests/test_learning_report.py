"""benchmarks.learning without training: its report (table, plot, verdict lines against the
random policy) from given evaluations, and its refusals in one line."""

from __future__ import annotations

import pytest

from benchmarks.learning import __main__ as learning
from benchmarks.learning import report

RANDOM = {"env": "Craftax-Classic-Symbolic-v1", "episodes": 100, "return_mean": 1.0,
          "return_std": 1.0}


def _evaluation(target: int, mean: float) -> dict:
    return {"target": target, "env_steps": target, "episodes": 100, "return_mean": mean,
            "return_std": 1.0}


EVALUATIONS = {
    "reimpl": {0: [_evaluation(256, 1.0), _evaluation(512, 2.0)],
               1: [_evaluation(256, 0.5), _evaluation(512, 1.5)]},
    "official": {0: [_evaluation(256, 1.1)], 1: []},
}


def test_against_random_counts_two_standard_errors_of_the_difference():
    # Standard errors 0.1 each: the difference's is 0.141, so 2 of them are 0.283.
    assert [report.against_random(_evaluation(0, m), RANDOM) for m in (1.29, 1.27, 0.71,
                                                                       0.73)] == [1, 0, -1, 0]


def test_report_has_the_table_the_plot_and_the_verdict_lines(tmp_path):
    out = tmp_path / "LEARNING.md"
    picture = report.write(out, EVALUATIONS, RANDOM, ["settings line"], "python -m x")
    text = out.read_text()
    assert picture == tmp_path / "LEARNING.png" and picture.read_bytes()[:4] == b"\x89PNG"
    assert "![return against env steps](LEARNING.png)" in text and "- settings line" in text
    assert ("| 256 | 1.00 ± 0.10 | 0.50 ± 0.10 | 0.75 | 1.10 ± 0.10 | - | - | 1.00 ± 0.10 |"
            in text)
    assert "| 512 | 2.00 ± 0.10 | 1.50 ± 0.10 | 1.75 | - | - | - | 1.00 ± 0.10 |" in text
    assert ("- **reimpl**: 4 checkpoints over 2 seeds; 2 above the random policy, 1 below it, "
            "1 within 2 standard errors of it") in text


def test_learning_refuses_unknown_learners_in_one_line(capsys):
    with pytest.raises(SystemExit) as stopped:
        learning.main(["--learners", "reimpl,mine"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err == ("python -m benchmarks.learning: error: --learners: unknown mine; choose "
                   "from reimpl, official (see --help)\n")


def test_learning_refuses_to_continue_with_other_options(tmp_path):
    args = learning._parse(["--logdir", str(tmp_path), "--seeds", "0"])
    learning._claim(args)
    again = learning._parse(["--logdir", str(tmp_path), "--seeds", "0", "--env-steps", "9"])
    learning._claim(again)  # a longer run of the same comparison
    other = learning._parse(["--logdir", str(tmp_path), "--seeds", "0,1"])
    with pytest.raises(learning.Refused, match=r"holds a comparison with --seeds \[0\] "
                                               r"\(this run: \[0, 1\]\); only --env-steps"):
        learning._claim(other)


def test_learning_advances_only_the_named_runs(tmp_path, monkeypatch):
    trained = []
    monkeypatch.setattr(learning, "_random", lambda args: {"return_mean": 1.0, "return_std": 1.0,
                                                           "episodes": 4})
    monkeypatch.setattr(learning, "_advance",
                        lambda args, learner, seed, target, random: trained.append(
                            (learner, seed, target)))
    monkeypatch.setattr(learning.report, "write", lambda *args: None)
    args = learning._parse(["--logdir", str(tmp_path), "--env-steps", "8", "--eval-every", "4",
                            "--advance", "official:1,reimpl"])
    learning._claim(args)
    learning.run(args, "command")
    assert trained == [("reimpl", 0, 4), ("reimpl", 1, 4), ("official", 1, 4),
                       ("reimpl", 0, 8), ("reimpl", 1, 8), ("official", 1, 8)]
    # --advance is not part of the comparison: the same logdir takes another choice.
    learning._claim(learning._parse(["--logdir", str(tmp_path), "--eval-every", "4",
                                     "--advance", "official"]))


def test_learning_refuses_an_unknown_run_in_one_line(capsys):
    with pytest.raises(SystemExit) as stopped:
        learning.main(["--advance", "official:7"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.startswith(
        "python -m benchmarks.learning: error: --advance: 'official:7' is none of this "
        "comparison's runs")


def test_a_rewritten_report_keeps_the_verdict_a_person_wrote(tmp_path):
    path = tmp_path / "LEARNING.md"
    evaluations = {"reimpl": {0: [_evaluation(512, 1.0)]}}
    random = {**_evaluation(0, 1.0), "env": "Craftax-Classic-Symbolic-v1"}
    report.write(path, evaluations, random, ["settings"], "command")
    verdict = "<!-- verdict: begin -->\n## Verdict\n\nBoth collapse.\n<!-- verdict: end -->"
    path.write_text(path.read_text().replace("## Against the random policy",
                                             verdict + "\n\n## Against the random policy"))
    report.write(path, evaluations, random, ["settings"], "another command")
    text = path.read_text()
    assert "another command" in text and text.count("Both collapse.") == 1
    assert text.index("Both collapse.") < text.index("## Against the random policy")
