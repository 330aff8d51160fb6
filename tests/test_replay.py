"""Replay: sequences stay inside the written data and behind the write head, is_first marks
episode starts across the ring's wrap point, sampling is uniform, and the scan-based add equals
a plain-Python oracle."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from reimpl.train import replay as replay_lib

CAPACITY, ENVS, LENGTH = 16, 2, 5
FALSE_ALARM = 1e-6  # chance that the uniformity test fails a correct sampler, for any key


def _stream(steps: int, seed: int = 0) -> dict[str, np.ndarray]:
    """[T, E] steps in the env layout: episodes of random length, each is_last followed by an
    is_first step; `t` is the absolute step index plus one (0 marks a never-written slot)."""
    rng = np.random.default_rng(seed)
    is_first = np.zeros((steps, ENVS), bool)
    is_first[0] = True
    for env in range(ENVS):
        t = 0
        while t < steps:
            t += rng.integers(2, 7)  # steps until this episode's is_last, inclusive
            if t + 1 < steps:
                is_first[t + 1, env] = True
            t += 1
    is_last = np.zeros_like(is_first)
    is_last[:-1] = is_first[1:]
    t = np.broadcast_to(np.arange(1, steps + 1)[:, None], (steps, ENVS)).astype(np.int32)
    image = (t[..., None, None] * np.arange(1, 5).reshape(2, 2)).astype(np.uint8)  # [T, E, 2, 2]
    return {"t": t, "is_first": is_first, "is_last": is_last, "image": image}


def _example(stream):
    return {key: jnp.asarray(value[0]) for key, value in stream.items()}


def _oracle(stream, capacity: int) -> dict[str, np.ndarray]:
    """The ring buffer written one step at a time in plain Python."""
    data = {key: np.zeros((ENVS, capacity, *v.shape[2:]), v.dtype) for key, v in stream.items()}
    for t in range(len(stream["t"])):
        for key, value in stream.items():
            data[key][:, t % capacity] = value[t]
    return data


_extend = jax.jit(replay_lib.extend)
_sample = jax.jit(replay_lib.sample, static_argnums=(2, 3), static_argnames="annotate")


@functools.cache
def _filled(steps: int) -> replay_lib.Replay:
    stream = _stream(steps)
    replay = replay_lib.init_replay(_example(stream), CAPACITY)
    return _extend(replay, {k: jnp.asarray(v) for k, v in stream.items()})


@pytest.mark.parametrize("steps", [5, 12, 40], ids=["just-enough", "partial", "wrapped"])
def test_scan_add_equals_the_python_oracle(steps):
    replay = _filled(steps)
    expected = _oracle(_stream(steps), CAPACITY)
    for key in expected:
        np.testing.assert_array_equal(np.asarray(replay.data[key]), expected[key], err_msg=key)
    assert int(replay.total) == steps and int(replay.head) == steps % CAPACITY
    assert int(replay.filled) == min(steps, CAPACITY)


def test_scan_add_equals_repeated_add():
    stream = _stream(21)
    looped = replay_lib.init_replay(_example(stream), CAPACITY)
    add = jax.jit(replay_lib.add)
    for t in range(21):
        looped = add(looped, {k: jnp.asarray(v[t]) for k, v in stream.items()})
    scanned = _filled(21)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool((a == b).all()), looped, scanned))


@pytest.mark.parametrize("steps", [5, 12, 40], ids=["just-enough", "partial", "wrapped"])
def test_sequences_are_consecutive_written_steps(steps):
    batch = _sample(_filled(steps), jax.random.key(0), 512, LENGTH)
    t = np.asarray(batch["t"])  # [B, L]: absolute index + 1 of each sampled step
    assert (t > 0).all(), "read a slot that was never written"
    assert (np.diff(t, axis=1) == 1).all(), "a sequence crossed the write head"
    assert t.min() >= max(1, steps - CAPACITY + 1) and t.max() <= steps
    assert batch["t"].shape == (512, LENGTH) and batch["image"].shape == (512, LENGTH, 2, 2)


def test_is_first_marks_true_episode_starts_after_wrap_around():
    steps = 40
    stream = _stream(steps)
    batch = jax.tree.map(np.asarray, _sample(_filled(steps), jax.random.key(1), 512, LENGTH,
                                             annotate=False))
    env, step = map(np.asarray, replay_lib.decode_stepid(batch["stepid"]))
    np.testing.assert_array_equal(step, batch["t"] - 1)
    for key in ("is_first", "is_last", "image"):
        np.testing.assert_array_equal(batch[key], stream[key][step, env], err_msg=key)
    # Some sequences cross the ring's wrap point and some an episode boundary.
    assert ((step % CAPACITY)[:, 1:] < (step % CAPACITY)[:, :-1]).any()
    assert batch["is_first"][:, 1:].any()


def test_official_annotation_only_marks_the_first_step():
    """Official Replay._annotate_batch: is_first on every sequence's first step, is_last before
    every is_first. With the env layout the is_last rule adds nothing."""
    steps = 40
    key = jax.random.key(2)
    raw = jax.tree.map(np.asarray, _sample(_filled(steps), key, 256, LENGTH, annotate=False))
    marked = jax.tree.map(np.asarray, _sample(_filled(steps), key, 256, LENGTH))
    assert marked["is_first"][:, 0].all() and not raw["is_first"][:, 0].all()
    np.testing.assert_array_equal(marked["is_first"][:, 1:], raw["is_first"][:, 1:])
    np.testing.assert_array_equal(marked["is_last"], raw["is_last"])
    assert marked["consec"].dtype == np.int32 and not marked["consec"].any()
    assert marked["stepid"].shape == (256, LENGTH, 20) and marked["stepid"].dtype == np.uint8


def _uniformity_pvalue(counts: np.ndarray) -> float:
    return float(stats.chisquare(counts).pvalue)


def test_every_valid_start_in_every_env_is_sampled_uniformly():
    """Chi-square goodness of fit over the 2 envs x 12 valid starts of a wrapped ring; a
    correct sampler fails with probability FALSE_ALARM."""
    steps, draws = 40, 24000
    batch = _sample(_filled(steps), jax.random.key(3), draws, LENGTH, annotate=False)
    env, step = map(np.asarray, replay_lib.decode_stepid(batch["stepid"][:, 0]))
    starts = CAPACITY - LENGTH + 1
    cells = env * starts + (step - (steps - CAPACITY))
    assert cells.min() >= 0 and cells.max() < ENVS * starts
    counts = np.bincount(cells, minlength=ENVS * starts)
    assert _uniformity_pvalue(counts) > FALSE_ALARM, counts


def test_the_uniformity_check_catches_a_missing_start():
    """Power: the same check at the same sample size rejects a sampler that never picks the
    newest start (the off-by-one that the write-head rule invites)."""
    rng = np.random.default_rng(0)
    cells = ENVS * (CAPACITY - LENGTH + 1)
    draws = rng.integers(0, cells - 1, 24000)
    assert _uniformity_pvalue(np.bincount(draws, minlength=cells)) < FALSE_ALARM


def test_sampling_too_early_names_the_fix():
    with pytest.raises(ValueError, match="add more steps before sampling"):
        replay_lib.sample(_filled(4), jax.random.key(0), 2, LENGTH)
    with pytest.raises(ValueError, match="raise the capacity"):
        replay_lib.sample(_filled(40), jax.random.key(0), 2, CAPACITY + 1)


def test_add_rejects_a_step_with_other_keys():
    replay = _filled(5)
    step = {"t": jnp.zeros(ENVS, jnp.int32), "is_first": jnp.zeros(ENVS, bool)}
    with pytest.raises(ValueError, match=r"missing \['image', 'is_last'\]"):
        replay_lib.add(replay, step)


def test_update_writes_back_and_skips_overwritten_steps():
    replay = _filled(20)  # holds absolute steps 4..19 of each env
    batch = _sample(replay, jax.random.key(4), 64, LENGTH, annotate=False)
    values = {"t": -batch["t"]}
    update = jax.jit(replay_lib.update)
    updated = update(replay, batch["stepid"], values)
    resampled = _sample(updated, jax.random.key(4), 64, LENGTH, annotate=False)
    np.testing.assert_array_equal(np.asarray(resampled["t"]), -np.asarray(batch["t"]))
    # After 16 more steps every sampled step has been overwritten: the update must not land.
    newer = _extend(replay, {k: jnp.asarray(v) for k, v in _stream(16).items()})
    after = update(newer, batch["stepid"], values)
    np.testing.assert_array_equal(np.asarray(after.data["t"]), np.asarray(newer.data["t"]))
