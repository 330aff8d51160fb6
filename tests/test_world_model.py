"""World-model losses per (B, T) element (reimpl/world_model.py)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from reimpl import parameters, rssm, world_model
from reimpl.config import preset
from reimpl.spaces import Space, bookkeeping_spaces, discrete_act_space, image_obs_space

BATCH, LENGTH = 2, 3
KEY = jax.random.key(0)
OBS_SPACE, ACT_SPACE = image_obs_space(64, 3), discrete_act_space(17)


def make_batch(seed: int = 0) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    shape = (BATCH, LENGTH)
    obs = {
        "image": rng.integers(0, 256, (*shape, 64, 64, 3), dtype=np.uint8),
        "reward": rng.normal(0, 5, shape).astype(np.float32),
        "is_first": np.zeros(shape, bool),
        "is_last": np.zeros(shape, bool),
        "is_terminal": np.zeros(shape, bool),
    }
    obs["is_first"][:, 0] = True
    obs["is_terminal"][0, 2] = obs["is_last"][0, 2] = True
    prevact = {"action": rng.integers(0, 17, shape).astype(np.int32)}
    return obs, prevact


def make_params(config, seed: int = 0) -> dict:
    params = world_model.init_params(OBS_SPACE, ACT_SPACE, config, jax.random.key(seed))
    flat = parameters.flatten(params)
    # rewhead outscale 0 starts the reward head at zero, which would hide its gradients.
    kernel = flat["rew/head/logits/kernel"]
    flat["rew/head/logits/kernel"] = jax.random.normal(jax.random.key(9), kernel.shape)
    return parameters.unflatten(flat)


def compute_losses(config, params, sample=False):
    model = world_model.WorldModel.build(OBS_SPACE, ACT_SPACE, config)
    obs, prevact = make_batch()
    carry = rssm.initial_carry(config.rssm, BATCH)
    return world_model.world_model_loss(model, params, carry, obs, prevact, KEY, sample)


@pytest.fixture(scope="module")
def debug_run():
    config = preset("debug")
    params = make_params(config)
    return config, params, jax.jit(compute_losses, static_argnums=(0, 2))(config, params, False)


def test_every_term_is_per_element_and_finite(debug_run):
    config, _, output = debug_run
    assert set(output.losses) == set(world_model.loss_scales(config, OBS_SPACE))
    assert set(output.losses) == {"image", "rew", "con", "dyn", "rep"}
    for name, value in output.losses.items():
        assert value.shape == (BATCH, LENGTH), name
        assert np.all(np.isfinite(value)), name
    assert np.all(output.losses["dyn"] >= config.rssm.free_nats)
    assert np.all(output.losses["rep"] >= config.rssm.free_nats)
    assert output.feat["stoch"].shape == (BATCH, LENGTH, config.rssm.stoch, config.rssm.classes)
    assert output.tokens.shape == (BATCH, LENGTH, 128)


def test_image_loss_is_squared_error_summed_over_pixels(debug_run):
    config, params, output = debug_run
    model = world_model.WorldModel.build(OBS_SPACE, ACT_SPACE, config)
    recon = model.decoder.apply({"params": params["dec"]}, output.feat)["image"].pred()
    target = make_batch()[0]["image"].astype(np.float32) / 255
    expected = np.square(np.asarray(recon) - target).sum((-3, -2, -1))
    np.testing.assert_allclose(output.losses["image"], expected, rtol=1e-5)
    assert np.all((np.asarray(recon) > 0) & (np.asarray(recon) < 1))


def test_continuation_target_is_discounted_non_terminal():
    config = preset("debug")
    terminal = jnp.array([[False, True]])
    np.testing.assert_allclose(
        world_model.continuation_target(terminal, config), [[1 - 1 / 333, 0.0]], rtol=1e-7
    )
    plain = dataclasses.replace(config, contdisc=False)
    np.testing.assert_array_equal(world_model.continuation_target(terminal, plain), [[1.0, 0.0]])


@pytest.mark.parametrize("reward_grad", [True, False], ids=["reward_grad", "no_reward_grad"])
def test_reward_gradient_reaches_the_encoder_only_with_reward_grad(reward_grad):
    # A vector observation keeps this compile small; the stop-gradient does not depend on it.
    config = preset("debug", reward_grad=reward_grad)
    obs_space = {"vector": Space((5,), "float32"), **bookkeeping_spaces()}
    model = world_model.WorldModel.build(obs_space, ACT_SPACE, config)
    flat = parameters.flatten(world_model.init_params(obs_space, ACT_SPACE, config, KEY))
    flat["rew/head/logits/kernel"] = jax.random.normal(KEY, flat["rew/head/logits/kernel"].shape)
    obs, prevact = make_batch()
    obs = {**obs, "vector": np.ones((BATCH, LENGTH, 5), np.float32)}
    carry = rssm.initial_carry(config.rssm, BATCH)

    def reward_loss(params):
        output = world_model.world_model_loss(model, params, carry, obs, prevact, KEY, False)
        return output.losses["rew"].mean()

    grads = jax.jit(jax.grad(reward_loss))(parameters.unflatten(flat))
    encoder_norm = sum(float(jnp.abs(g).sum()) for g in jax.tree.leaves(grads["enc"]))
    head_norm = sum(float(jnp.abs(g).sum()) for g in jax.tree.leaves(grads["rew"]))
    assert head_norm > 0
    assert (encoder_norm > 0) == reward_grad


def test_vector_observations_get_mlp_encoder_and_symlog_decoder():
    config = preset("debug")
    obs_space = {"vector": Space((5,), "float32"), **bookkeeping_spaces()}
    params = world_model.init_params(obs_space, ACT_SPACE, config, jax.random.key(0))
    layout = parameters.layout(parameters.flatten(params))
    assert layout["enc/mlp0/kernel"] == ((5, 8), "float32")
    assert layout["enc/mlp0norm/scale"] == ((8,), "float32")
    assert layout["dec/mlp/linear0/kernel"] == ((16, 8), "float32")
    assert layout["dec/vec/vector/pred/kernel"] == ((8, 5), "float32")
    assert not any(name.startswith(("enc/cnn", "dec/sp", "dec/imgout")) for name in layout)
