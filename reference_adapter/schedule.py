"""The official update schedule: how many train steps `embodied/run/train.py` runs.

The official loop counts one step per environment transition (`driver.on_step(lambda tran,
_: step.increment())`), and after every transition, once the replay holds
`batch_size * batch_length` steps, runs `should_train(step)` updates, where
`should_train = elements.when.Ratio(train_ratio / batch_steps)`. This replays that loop with
the official `Ratio` object and no environment.
"""

from __future__ import annotations

import numpy as np

from .loader import load


def official_update_counts(train_ratio: float, batch_size: int, batch_length: int,
                           env_steps: int, every: int) -> np.ndarray:
    """Cumulative official updates after every `every` transitions: [env_steps // every]."""
    batch_steps = batch_size * batch_length
    should_train = load().elements.when.Ratio(train_ratio / batch_steps)
    total, counts = 0, []
    for step in range(1, env_steps + 1):
        if step >= batch_steps:  # len(replay) after this transition's replay.add
            total += should_train(step)
        if step % every == 0:
            counts.append(total)
    return np.asarray(counts)
