"""What a run reports: each iteration's scalars as a JSONL line and as TensorBoard scalars,
images as TensorBoard images, and the achievement tally behind the Crafter score.

TensorBoard files come from tensorboardX (protobuf and numpy only; no TensorFlow), written to
the log directory itself, so `tensorboard --logdir LOGDIR` finds them; a resumed run adds a
new event file beside the old one and TensorBoard shows both as one run.

A run resumed from a checkpoint repeats the iterations its first process logged after that
checkpoint. Neither log keeps them twice: metrics.jsonl is cut back to the checkpoint's step
(`truncate`), and the new event file starts with TensorBoard's purge marker (a SessionLog
START at the first step after the checkpoint), so TensorBoard drops the older file's points
from that step on, as it does for TensorFlow's own restarts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from flax import struct
from tensorboardX import SummaryWriter

from . import envs as envs_lib

# Per-episode averages; reimpl.train leaves them out of an iteration in which no episode
# finished (the compiled collect reports 0 for them then).
EPISODE_KEYS = ("episode/return", "episode/length")


class MetricsLog:
    """LOGDIR/metrics.jsonl (appended) and TensorBoard event files in LOGDIR; a context
    manager that flushes and closes both."""

    def __init__(self, logdir: str | Path, resumed_at: int | None = None):
        """`resumed_at`: the env step of the checkpoint a resumed run continues from (call
        `truncate` first)."""
        self.logdir = Path(logdir)
        self._jsonl = open(self.logdir / "metrics.jsonl", "a")
        purge = None if resumed_at is None else resumed_at + 1
        self._writer = SummaryWriter(str(self.logdir), purge_step=purge)

    def scalars(self, step: int, metrics: dict[str, float]) -> None:
        """One JSONL line {'env_steps': step, **metrics}; every metric also becomes a
        TensorBoard scalar at `step` under its own key."""
        self._jsonl.write(json.dumps({"env_steps": step, **metrics}) + "\n")
        self._jsonl.flush()
        for tag, value in metrics.items():
            self._writer.add_scalar(tag, value, step)
        self._writer.flush()

    def image(self, tag: str, step: int, image: np.ndarray) -> None:
        """image uint8 [H, W, C]."""
        self._writer.add_image(tag, image, step, dataformats="HWC")
        self._writer.flush()

    def close(self) -> None:
        self._jsonl.close()
        self._writer.close()

    def __enter__(self) -> MetricsLog:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _step(line: str) -> float:
    """A JSONL line's env step; a line cut short by a crash counts as after every step."""
    try:
        return json.loads(line)["env_steps"]
    except (json.JSONDecodeError, KeyError):
        return float("inf")


def truncate(logdir: str | Path, step: int) -> int:
    """Drop the lines of LOGDIR/metrics.jsonl after env step `step` (atomically); returns how
    many went."""
    path = Path(logdir) / "metrics.jsonl"
    if not path.exists():
        return 0
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if _step(line) <= step]
    if len(kept) < len(lines):
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(kept))
        tmp.replace(path)
    return len(lines) - len(kept)


@struct.dataclass
class AchievementTally:
    """Achievements unlocked, summed over every episode finished so far. A pytree of numpy
    arrays, so it is saved in the checkpoint and a resumed run keeps counting."""

    counts: np.ndarray  # [A] int64
    episodes: np.ndarray  # [] int64


def empty_tally(num_achievements: int) -> AchievementTally:
    return AchievementTally(np.zeros(num_achievements, np.int64), np.zeros((), np.int64))


def add_episodes(tally: AchievementTally, counts, episodes) -> AchievementTally:
    """counts [A]: how many of the newly finished `episodes` unlocked each achievement."""
    return AchievementTally(tally.counts + np.rint(counts).astype(np.int64),
                            tally.episodes + np.int64(np.rint(episodes)))


def achievement_metrics(names: list[str], counts, episodes) -> dict[str, float]:
    """Success rate per achievement (`achievement/<name>`) and the Crafter score, over
    `episodes` episodes; empty when there are none."""
    if len(names) != len(counts):
        raise ValueError(f"{len(counts)} achievement counts for {len(names)} names")
    if not episodes:
        return {}
    rates = np.asarray(counts) / episodes
    return {"crafter_score": envs_lib.crafter_score(rates),
            **{f"achievement/{name}": float(rate) for name, rate in zip(names, rates, strict=True)}}
