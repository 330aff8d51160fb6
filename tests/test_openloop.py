"""Open-loop predictions on a tiny pixel agent: layout, the open-loop property (nothing after
the context reaches the prediction), agreement with the training posterior, the PNG; and
(slow) the PNGs reimpl.train writes."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from reimpl import agent as agent_lib
from reimpl import parameters
from reimpl import rssm as rssm_lib
from reimpl.agent import Agent
from reimpl.config import preset
from reimpl.replay_context import apply_replay_context
from reimpl.spaces import discrete_act_space, image_obs_space
from reimpl.train.openloop import BORDER, IMAGINED, OBSERVED, SEQUENCES, grid, openloop, write_png
from reimpl.train.run import train
from reimpl.train.train_config import TrainConfig

BATCH, LENGTH, CONTEXT, SIZE, ACTIONS = 2, 6, 3, 16, 5


@pytest.fixture(scope="module")
def setup():
    config = preset("debug", batch_length=LENGTH)
    # Wider latents than debug's 2 x 4 (hidden 3), whose modes no change of the images moves.
    config = dataclasses.replace(config, rssm=dataclasses.replace(
        config.rssm, hidden=16, stoch=8, classes=8))
    agent = Agent.build(image_obs_space(SIZE), discrete_act_space(ACTIONS), config)
    params = agent_lib.init(agent, jax.random.key(0)).params
    rng = np.random.default_rng(0)
    steps = LENGTH + config.replay_context
    rssm = config.rssm
    data = {
        "image": rng.integers(0, 256, (BATCH, steps, SIZE, SIZE, 3), np.uint8),
        "reward": np.zeros((BATCH, steps), np.float32),
        "is_first": np.arange(steps)[None].repeat(BATCH, 0) == 0,
        "is_last": np.zeros((BATCH, steps), bool),
        "is_terminal": np.zeros((BATCH, steps), bool),
        "action": rng.integers(0, ACTIONS, (BATCH, steps)).astype(np.int32),
        "consec": np.zeros((BATCH, steps), np.int32),
        "dyn/deter": rng.normal(size=(BATCH, steps, rssm.deter)).astype(np.float32),
        "dyn/stoch": np.eye(rssm.classes, dtype=np.float32)[
            rng.integers(0, rssm.classes, (BATCH, steps, rssm.stoch))],
    }
    run = jax.jit(functools.partial(openloop, agent), static_argnames=("context", "sample"))
    return agent, params, data, run


def _predict(setup, data):
    agent, params, _, run = setup
    return np.asarray(run(params, data, jax.random.key(1), context=CONTEXT,
                          sample=False)["image"])


def test_openloop_rows_are_true_predicted_error(setup):
    _, _, data, _ = setup
    video = _predict(setup, data)
    assert video.shape == (BATCH, 3, LENGTH, SIZE, SIZE, 3) and video.dtype == np.uint8
    true, pred, error = video[:, 0], video[:, 1].astype(int), video[:, 2].astype(int)
    np.testing.assert_array_equal(true, data["image"][:, -LENGTH:])
    np.testing.assert_array_equal(error, (pred - true + 255) // 2)


def test_openloop_ignores_observations_after_the_context(setup):
    _, _, data, _ = setup
    later, earlier = dict(data), dict(data)
    later["image"] = data["image"].copy()
    later["image"][:, -LENGTH + CONTEXT:] = 0
    earlier["image"] = data["image"].copy()
    earlier["image"][:, -LENGTH + CONTEXT - 1] = 255
    base, with_later, with_earlier = (_predict(setup, d) for d in (data, later, earlier))
    np.testing.assert_array_equal(with_later[:, 1], base[:, 1])
    assert not np.array_equal(with_later[:, 0], base[:, 0])
    assert not np.array_equal(with_earlier[:, 1, CONTEXT:], base[:, 1, CONTEXT:])


def test_openloop_observed_steps_decode_the_training_posterior(setup):
    agent, params, data, _ = setup
    model, config = agent.world_model, agent.config
    carry = rssm_lib.initial_carry(config.rssm, BATCH)
    prevact = {"action": jnp.zeros((BATCH,), jnp.int32)}
    carry, obs, prevact = apply_replay_context(
        data, carry, prevact, list(agent.obs_space), ["action"], config.replay_context)
    modules = parameters.unflatten(params)
    tokens = model.encoder.apply({"params": modules["enc"]}, {"image": obs["image"]})
    _, _, feat = rssm_lib.observe(model.rssm, modules["dyn"], carry, tokens, prevact,
                                  obs["is_first"], jax.random.key(2), sample=False)
    image = model.decoder.apply({"params": modules["dec"]}, feat)["image"].pred()
    expected = np.asarray(jnp.clip(image * 255, 0, 255).astype(jnp.uint8))
    np.testing.assert_array_equal(_predict(setup, data)[:, 1, :CONTEXT],
                                  expected[:, :CONTEXT])


@pytest.mark.parametrize("context", [0, LENGTH], ids=["none", "all"])
def test_openloop_refuses_a_context_without_observed_or_imagined_steps(setup, context):
    agent, params, data, _ = setup
    with pytest.raises(ValueError, match=f"context {context} must lie in 1..{LENGTH - 1}"):
        openloop(agent, params, data, jax.random.key(0), context=context)


def test_grid_frames_observed_green_and_imagined_red_and_writes_a_png(tmp_path):
    video = np.arange(BATCH * 3 * LENGTH, dtype=np.uint8).reshape(BATCH, 3, LENGTH, 1, 1, 1)
    video = np.broadcast_to(video, (BATCH, 3, LENGTH, SIZE, SIZE, 3))
    picture = grid(video, CONTEXT)
    cell = SIZE + 2 * BORDER
    assert picture.shape == (BATCH * 3 * cell, LENGTH * cell, 3)
    for b, row, t in np.ndindex(BATCH, 3, LENGTH):
        block = picture[(3 * b + row) * cell:(3 * b + row + 1) * cell, t * cell:(t + 1) * cell]
        np.testing.assert_array_equal(block[BORDER:-BORDER, BORDER:-BORDER], video[b, row, t])
        assert tuple(block[0, 0]) == (OBSERVED if t < CONTEXT else IMAGINED)
    path = tmp_path / "openloop" / "iter_000001.png"
    write_png(path, picture)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), picture)


@pytest.mark.slow
def test_train_on_pixels_writes_openloop_pngs(tmp_path):
    """The wiring in reimpl.train (about 2 minutes on 2 CPU cores: the pixel env compiles)."""
    config = TrainConfig(env="Craftax-Classic-Pixels-v1", preset="debug", num_envs=2,
                         steps_per_collect=4, env_steps=24, replay_capacity=32,
                         max_episode_steps=3, report_every=3, logdir=str(tmp_path))
    train(config)
    cell = 64 + 2 * BORDER  # debug: batch 8 -> SEQUENCES, batch_length 10 steps
    picture = np.asarray(Image.open(tmp_path / "openloop" / "iter_000003.png"))
    assert picture.shape == (SEQUENCES * 3 * cell, 10 * cell, 3)
    events = b"".join(p.read_bytes() for p in tmp_path.glob("events.out.tfevents.*"))
    assert b"openloop/image" in events
