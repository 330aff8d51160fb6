"""Replay: sequences stay inside the written data and behind the write head."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from reimpl.replay import add, init_replay, sample

CAPACITY, ENVS, LENGTH = 16, 2, 5


def _fill(steps: int):
    replay = init_replay({"t": jnp.zeros(ENVS, jnp.int32)}, CAPACITY)
    for t in range(steps):
        replay = add(replay, {"t": jnp.full(ENVS, t, jnp.int32)})
    return replay


@pytest.mark.parametrize("steps", [LENGTH, 12, 40], ids=["just-enough", "partial", "wrapped"])
def test_sequences_are_consecutive_written_steps(steps):
    replay = _fill(steps)
    batch = sample(replay, jax.random.key(0), 256, LENGTH)
    t = np.asarray(batch["t"])  # [B, L]: the step index written there
    assert (np.diff(t, axis=1) == 1).all(), "a sequence crossed the write head or a gap"
    oldest = max(0, steps - CAPACITY)
    assert t.min() >= oldest and t.max() <= steps - 1
    assert batch["consec"].shape == (256, LENGTH)


def test_every_valid_start_is_sampled_about_uniformly():
    """Chi-square goodness of fit over the 12 valid starts after wrap-around; false-alarm
    rate 1e-6."""
    from scipy import stats

    replay = _fill(40)
    starts = np.asarray(sample(replay, jax.random.key(1), 12000, LENGTH)["t"][:, 0])
    counts = np.bincount(starts - (40 - CAPACITY), minlength=CAPACITY - LENGTH + 1)
    assert len(counts) == CAPACITY - LENGTH + 1
    assert stats.chisquare(counts).pvalue > 1e-6
