"""Craftax in the official layout: shapes, pixel conversion, and the reset semantics."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest

from reimpl import envs

TIME_LIMIT = 3


@pytest.fixture(scope="module")
def short_env():
    """Classic symbolic with a 3-step time limit, so an episode ends within the test."""
    env = envs.make_env("Craftax-Classic-Symbolic-v1")
    return dataclasses.replace(env, params=env.params.replace(max_timesteps=TIME_LIMIT))


def test_reset_step_follows_the_official_driver(short_env):
    step = jax.jit(lambda k, s, a: envs.step(short_env, k, s, a))
    state, obs = envs.reset(short_env, jax.random.key(0), 2)
    trace = [obs]
    for t in range(2 * (TIME_LIMIT + 1)):
        state, obs = step(jax.random.key(t + 1), state, np.zeros(2, np.int32))
        trace.append(obs)
    first = np.array([o["is_first"][0] for o in trace])
    last = np.array([o["is_last"][0] for o in trace])
    terminal = np.array([o["is_terminal"][0] for o in trace])
    # reset obs, 3 steps (the third ends by time limit), then the next episode's reset obs.
    assert first.tolist() == [True, False, False, False, True, False, False, False, True]
    assert last.tolist() == [False, False, False, True, False, False, False, True, False]
    assert not terminal.any(), "a time limit is a truncation, not a terminal"
    assert all(float(o["reward"][0]) == 0.0 for o, f in zip(trace, first) if f)
    assert trace[0]["vector"].shape == (2, 1345) and trace[0]["vector"].dtype == np.float32


def test_classic_pixels_are_padded_exactly():
    env = envs.make_env("Craftax-Classic-Pixels-v1")
    raw = jax.random.uniform(jax.random.key(0), (63, 63, 3))
    image = np.asarray(env.convert(raw)["image"])
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image[:63, :63], np.round(np.asarray(raw) * 255))
    np.testing.assert_array_equal(image[63, :63], image[62, :63])  # edge replication
    np.testing.assert_array_equal(image[:, 63], image[:, 62])
    assert env.obs_space["image"].shape == (64, 64, 3)
    assert env.act_space["action"].classes == 17


def test_crafter_score_is_the_geometric_mean_of_success_rates():
    assert envs.crafter_score(np.zeros(22)) == 0.0
    assert envs.crafter_score(np.ones(22)) == pytest.approx(100.0)
    # One achievement always, the rest never: exp(log(101) / 22) - 1.
    rates = np.zeros(22)
    rates[0] = 1.0
    assert envs.crafter_score(rates) == pytest.approx(np.exp(np.log(101) / 22) - 1)
    assert len(envs.achievement_names(envs.make_env("Craftax-Classic-Symbolic-v1"))) == 22
