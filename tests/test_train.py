"""The real entry point on a tiny config: runs, logs, checkpoints, and resumes exactly."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from reimpl.train import TrainConfig, main, train

TINY = TrainConfig(env="Craftax-Classic-Symbolic-v1", preset="debug", num_envs=2,
                   steps_per_collect=4, env_steps=24, replay_capacity=32)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("full")
    last = train(dataclasses.replace(TINY, logdir=str(logdir)))
    return logdir, last


def test_train_logs_finite_losses_and_checkpoints(uninterrupted):
    logdir, last = uninterrupted
    lines = [json.loads(x) for x in (logdir / "metrics.jsonl").read_text().splitlines()]
    assert [x["env_steps"] for x in lines] == [8, 16, 24]
    assert np.isfinite(last["loss"]) and last["updates"] > 0
    assert (logdir / "checkpoint.msgpack").stat().st_size > 0


def test_train_resume_equals_uninterrupted(uninterrupted, tmp_path):
    logdir, _ = uninterrupted
    train(dataclasses.replace(TINY, env_steps=16, logdir=str(tmp_path)))
    train(dataclasses.replace(TINY, logdir=str(tmp_path), resume=True))
    assert (tmp_path / "checkpoint.msgpack").read_bytes() == (
        logdir / "checkpoint.msgpack").read_bytes()


def test_train_resume_refuses_a_mismatched_checkpoint(uninterrupted, tmp_path):
    logdir, _ = uninterrupted
    (tmp_path / "checkpoint.msgpack").write_bytes((logdir / "checkpoint.msgpack").read_bytes())
    with pytest.raises(ValueError, match="does not match this config"):
        main(["--env", TINY.env, "--preset", "debug", "--num-envs", "3", "--logdir",
              str(tmp_path), "--resume", "--env-steps", "8", "--replay-capacity", "32"])
