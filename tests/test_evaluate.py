"""`python -m reimpl.evaluate` on a tiny checkpoint and as the random baseline: the report,
its JSON, episode selection, and the errors for a missing or corrupt checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reimpl.train import evaluate
from reimpl.train.run import train
from reimpl.train.train_config import TrainConfig

# tests/test_train.py's TINY: in one pytest process its compiled loop is reused.
TINY = TrainConfig(env="Craftax-Classic-Symbolic-v1", preset="debug", num_envs=2,
                   steps_per_collect=4, env_steps=24, replay_capacity=32, max_episode_steps=3)
REPORT_KEYS = {"policy", "mode", "env", "max_episode_steps", "envs", "seed", "episodes",
               "return_mean", "return_std", "length_mean", "length_std", "crafter_score",
               "achievements", "returns", "lengths"}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("run")
    train(TrainConfig(**{**vars(TINY), "logdir": str(logdir)}))
    return logdir / "checkpoint.msgpack"


def _check(report: dict, episodes: int) -> None:
    assert set(report) == REPORT_KEYS
    assert report["episodes"] == len(report["returns"]) == len(report["lengths"]) == episodes
    assert report["return_mean"] == pytest.approx(np.mean(report["returns"]))
    assert report["length_std"] == pytest.approx(np.std(report["lengths"]))
    assert len(report["achievements"]) == 22 and "collect_wood" in report["achievements"]
    assert all(0 <= rate <= 1 for rate in report["achievements"].values())
    assert np.isfinite(report["crafter_score"])
    # A 3-step time limit: the reset step and at most 3 steps of play.
    assert all(1 < length <= 4 for length in report["lengths"])


def test_evaluate_reports_a_checkpoint(checkpoint, tmp_path, capsys):
    out = tmp_path / "report.json"
    assert evaluate.main([str(checkpoint), "--episodes", "5", "--envs", "2", "--out",
                          str(out)]) == 0
    report = json.loads(out.read_text())
    _check(report, 5)
    assert (report["policy"], report["mode"]) == (str(checkpoint), "sample")
    assert (report["env"], report["max_episode_steps"]) == (TINY.env, 3)
    printed = capsys.readouterr().out
    assert f"return  {report['return_mean']:.2f} ± {report['return_std']:.2f}" in printed
    assert "crafter score" in printed


def test_random_baseline_runs_and_repeats_with_its_seed(tmp_path):
    reports = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.json"
        evaluate.main(["--random", "--env", TINY.env, "--max-episode-steps", "3",
                       "--episodes", "4", "--envs", "3", "--seed", "7", "--out", str(out)])
        reports.append(json.loads(out.read_text()))
    _check(reports[0], 4)
    assert reports[0]["mode"] == "random" and reports[0] == reports[1]


def test_episodes_are_taken_round_by_round_not_by_finishing_time():
    per_env = [["a0", "a1", "a2"], ["b0"], ["c0", "c1"]]
    assert evaluate._take(per_env, 3) == ["a0", "b0", "c0"]
    assert evaluate._take([["a0", "a1"], ["b0", "b1"]], 3) == ["a0", "b0", "a1"]


def test_evaluate_names_a_missing_or_corrupt_checkpoint(checkpoint, tmp_path):
    with pytest.raises(SystemExit, match="no checkpoint at .*missing.msgpack"):
        evaluate.main([str(tmp_path / "missing.msgpack")])
    truncated = tmp_path / "truncated.msgpack"
    truncated.write_bytes(checkpoint.read_bytes()[:1000])
    with pytest.raises(SystemExit, match="truncated.msgpack is unreadable"):
        evaluate.main([str(truncated)])


@pytest.mark.parametrize("argv, message", [
    ([], "either a CHECKPOINT or --random"),
    (["--random"], "--random needs --env"),
    (["x.msgpack", "--env", TINY.env], "come from the checkpoint's config"),
    (["--random", "--env", TINY.env, "--mode", "mode"], "--mode applies to a checkpoint"),
], ids=["nothing", "random-without-env", "env-with-checkpoint", "mode-with-random"])
def test_evaluate_refuses_contradictory_options(argv, message, capsys):
    with pytest.raises(SystemExit):
        evaluate.main(argv)
    assert message in capsys.readouterr().err
