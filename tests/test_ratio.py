"""The train-ratio tool against the official meaning, and the loop's schedule against it."""

from __future__ import annotations

import pytest

from reimpl.loop import updates_per_iteration
from reimpl.ratio import grad_steps_for, main, train_ratio


def test_official_crafter_schedule():
    # crafter: 1 env, train ratio 512, batch 16x64 -> one update every 2 env steps.
    assert train_ratio(1, 2, 1, 16, 64) == 512
    assert grad_steps_for(512, 1, 1, 16, 64) == 0.5


@pytest.mark.parametrize("ratio", [32, 512], ids=["atari-32", "crafter-512"])
def test_loop_schedule_reaches_the_ratio_over_a_long_run(ratio):
    envs, steps, batch, length = 16, 64, 16, 64
    updates = updates_per_iteration(ratio, envs, steps, batch, length)
    iterations = 1000
    replayed = iterations * updates * batch * length
    assert replayed / (iterations * envs * steps) == pytest.approx(ratio)


def test_cli_prints_ratio_and_inverse(capsys):
    main(["--envs", "8", "--steps-per-collect", "8", "--grad-steps", "2", "--batch-size", "8",
          "--batch-length", "32", "--target", "512"])
    out = capsys.readouterr().out
    assert "train ratio 8 " in out and "needs 128 updates" in out
