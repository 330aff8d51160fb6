"""reimpl/train/progress.py on a fake clock and a string stream, and as reimpl.train and
reimpl.evaluate show it. Before it, reimpl.train redrew one `\\r` line (one long line in a log
file) whose rate counted the compiling first iteration, with no ETA; reimpl.evaluate showed
nothing until its report."""

from __future__ import annotations

import dataclasses
import io

import jax
import numpy as np
import pytest

from reimpl.train import evaluate
from reimpl.train.progress import Progress, duration
from reimpl.train.run import train
from reimpl.train.train_config import TrainConfig

# tests/test_train.py's TINY: in one pytest process its compiled loop is reused.
TINY = TrainConfig(env="Craftax-Classic-Symbolic-v1", preset="debug", num_envs=2,
                   steps_per_collect=4, env_steps=24, replay_capacity=32, max_episode_steps=3)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run(steps: list[tuple[float, int]], tty: bool, interval: float = 30.0, total: int = 1024,
         compile_at: tuple[int, ...] = ()) -> tuple[Progress, str]:
    """Updates (time, done) in order; before the i-th update for i in `compile_at` a fresh
    program is compiled, as a loop's first update or report would."""
    clock, stream = Clock(), io.StringIO()
    with Progress("[train]", total, "env steps", stream=stream, clock=clock, interval=interval,
                  tty=tty) as progress:
        for index, (now, done) in enumerate(steps):
            if index in compile_at:
                jax.jit(lambda x, index=index: x + index)(np.float32(1))
            clock.now = now
            progress.update(done, "loss 1.5")
    return progress, stream.getvalue()


def test_rate_leaves_out_the_first_step():
    """60 s of compilation in the first step: the old rate read 24 / 62 s = 0.39 steps/s."""
    progress, _ = _run([(60.0, 8), (61.0, 16), (62.0, 24)], tty=False)
    assert progress.rate == pytest.approx(8.0)


def test_rate_starts_again_after_a_step_that_compiled():
    """8 steps/s, then 30 s of compilation, then 32 steps/s (reimpl.train's first update after
    iterations that only filled the replay, and the other way round)."""
    steps = [(10.0, 8), (11.0, 16), (41.0, 24), (42.0, 56), (43.0, 88)]
    progress, _ = _run(steps, tty=False, compile_at=(2,))
    assert progress.rate == pytest.approx(32.0)
    progress, _ = _run(steps[:3], tty=False, compile_at=(2,))
    assert progress.rate is None


def test_eta_is_the_remaining_units_at_the_measured_rate():
    _, text = _run([(60.0, 8), (61.0, 16), (62.0, 24)], tty=False, interval=0)
    lines = text.splitlines()
    assert lines[0] == ("[train] 8/1024 env steps (1%), 1:00 elapsed, - env steps/s, ETA - | "
                        "loss 1.5")
    # (1024 - 24) / 8 per second = 125 s.
    assert lines[-1] == ("[train] 24/1024 env steps (2%), 1:02 elapsed, 8.0 env steps/s, "
                         "ETA 2:05 | loss 1.5")


def test_without_a_terminal_lines_are_whole_and_periodic():
    steps = [(10.0 * i, 8 * i) for i in range(1, 10)]  # an update every 10 s, 90 s in all
    _, text = _run(steps, tty=False, interval=30.0)
    assert "\r" not in text and "\x1b" not in text and text.endswith("\n")
    lines = text.splitlines()
    # The first step, then every 30 s (at 40 and 70 s), then the last step (90 s) on leaving.
    assert [line.split(" env steps")[0] for line in lines] == [
        "[train] 8/1024", "[train] 32/1024", "[train] 56/1024", "[train] 72/1024"]
    assert all(" elapsed, " in line and "ETA" in line for line in lines)


def test_without_a_terminal_the_last_line_is_not_repeated():
    _, text = _run([(1.0, 8), (40.0, 16)], tty=False, interval=30.0)
    assert len(text.splitlines()) == 2


def test_on_a_terminal_one_line_is_redrawn(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    _, text = _run([(60.0, 8), (61.0, 512), (62.0, 1024)], tty=True)
    assert text.count("\r") == 3 and text.count("\n") == 1 and text.endswith("\n")
    draws = [draw.removesuffix("\x1b[K") for draw in text.rstrip("\n").split("\r")[1:]]
    assert draws == [
        "[train] |....................| 8/1024 env steps, -/s, ETA - | loss 1.5",
        "[train] |##########..........| 512/1024 env steps, 504/s, ETA 0:01 | loss 1.5",
        "[train] |####################| 1024/1024 env steps, 508/s, ETA 0:00 | loss 1.5"]


def test_on_a_terminal_the_line_fits_its_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    _, text = _run([(60.0, 8)], tty=True)
    assert text == "\r" + "[train] |....................| 8/1024 env steps"[:39] + "\x1b[K\n"


@pytest.mark.parametrize("seconds, shown", [(0.4, "0:00"), (125, "2:05"), (3725, "1:02:05")],
                         ids=["zero", "minutes", "hours"])
def test_duration(seconds, shown):
    assert duration(seconds) == shown


def test_train_prints_whole_lines_with_its_metrics(tmp_path, capsys):
    train(dataclasses.replace(TINY, max_episode_steps=0, env_steps=8, logdir=str(tmp_path)))
    out = capsys.readouterr().out
    assert "\r" not in out
    (line,) = [line for line in out.splitlines() if "elapsed" in line]
    assert line.startswith("[train] 8/8 env steps (100%), ")
    assert line.endswith(" | filling replay, return - (0 ep)")


def test_evaluate_shows_progress_over_its_episodes(capsys):
    assert evaluate.main(["--random", "--env", TINY.env, "--max-episode-steps", "3",
                          "--episodes", "5", "--envs", "2"]) == 0
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert line.startswith("[evaluate] 6/6 episodes (100%), ")  # 3 rounds of 2 envs
    assert line.endswith(" | 200 env steps")
    assert "[evaluate]" not in captured.err.replace(line, "")
    assert captured.out.startswith("[evaluate] random (random) on ")  # the report
