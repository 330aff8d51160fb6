"""The train-ratio tool against the official meaning and presets."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reimpl.train.ratio import (
    OFFICIAL,
    grad_steps_for,
    main,
    report,
    train_ratio,
    updates_per_env_step,
)


def test_official_presets_and_updates_per_env_step():
    # configs.yaml run.train_ratio and run.envs; at batch 16 x 64 an update per 1024 / ratio
    # env steps.
    expected = {"crafter": (512, 1), "atari": (32, 16), "dmc_vision": (256, 16),
                "atari100k": (256, 1)}
    for name, (ratio, envs) in expected.items():
        assert (OFFICIAL[name].train_ratio, OFFICIAL[name].envs) == (ratio, envs), name
        assert OFFICIAL[name].updates_per_env_step == ratio / 1024, name
    assert updates_per_env_step(512, 16, 64) == 0.5


def test_official_crafter_schedule():
    # crafter: 1 env, train ratio 512, batch 16 x 64 -> one update every 2 env steps.
    assert train_ratio(1, 2, 1, 16, 64) == 512
    assert grad_steps_for(512, 1, 1, 16, 64) == 0.5


@pytest.mark.parametrize(
    "envs, steps, batch, length",
    [(1, 1, 16, 64), (8, 8, 8, 32), (16, 64, 16, 64), (3, 7, 5, 11)],
    ids=["official-1env", "cpu-preset", "lockstep-16x64", "odd-sizes"],
)
@pytest.mark.parametrize("ratio", [32, 512], ids=["atari-32", "crafter-512"])
def test_inverse_is_exact(envs, steps, batch, length, ratio):
    grad_steps = grad_steps_for(ratio, envs, steps, batch, length)
    assert train_ratio(envs, steps, grad_steps, batch, length) == pytest.approx(ratio, rel=1e-12)


def test_ratio_counts_replayed_steps_per_env_step():
    # 16 envs x 64 steps = 1024 env steps; 32 updates x 16 x 64 = 32768 replayed steps.
    assert train_ratio(16, 64, 32, 16, 64) == 32
    assert train_ratio(16, 64, 0, 16, 64) == 0


def test_loop_schedule_reaches_the_ratio():
    from reimpl.train.loop import updates_per_iteration

    updates = updates_per_iteration(512, 16, 64, 16, 64)
    assert train_ratio(16, 64, updates, 16, 64) == 512


@pytest.mark.parametrize(
    "args, match",
    [((0, 8, 16, 64), "envs"), ((1, 8, 0, 64), "batch_size"), ((1, -1, 16, 64), "steps")],
    ids=["zero-envs", "zero-batch", "negative-steps"],
)
def test_invalid_sizes_name_the_offender(args, match):
    envs, steps, batch, length = args
    with pytest.raises(ValueError, match=match):
        train_ratio(envs, steps, 1, batch, length)


def test_report_compares_with_the_official_presets():
    text = report(1, 2, 16, 64, grad_steps=1)
    assert "train ratio 512 replayed steps per env step" in text
    crafter = next(line for line in text.splitlines() if line.strip().startswith("crafter"))
    assert "0.5 updates per env step" in crafter and "(yours 1x)" in crafter


def test_cli_prints_ratio_and_inverse(capsys):
    main(["--envs", "8", "--steps-per-collect", "8", "--grad-steps", "2", "--batch-size", "8",
          "--batch-length", "32", "--target", "512"])
    out = capsys.readouterr().out
    assert "train ratio 8 replayed steps per env step" in out
    assert "train ratio 512 needs 128 updates per collect" in out


def test_cli_without_a_question_exits_with_usage():
    with pytest.raises(SystemExit) as error:
        main(["--envs", "8", "--steps-per-collect", "8"])
    assert error.value.code == 2


def test_module_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "reimpl.ratio", "--envs", "1", "--steps-per-collect", "1",
         "--target", "512"], capture_output=True, text=True, check=True, timeout=60)
    assert "needs 0.5 updates per collect (a whole 1 per collect gives 1024)" in result.stdout


@pytest.mark.parametrize("per_iteration", [0.5, 6.25, 1 / 3, 8.0], ids=["half", "quarter",
                                                                       "third", "whole"])
def test_updates_due_carries_fractions(per_iteration):
    from reimpl.train.loop import updates_due

    counts = [updates_due(per_iteration, i) for i in range(999)]
    assert all(c in (int(per_iteration), int(per_iteration) + 1) for c in counts)
    assert sum(counts) == int(999 * per_iteration + 1e-9)
