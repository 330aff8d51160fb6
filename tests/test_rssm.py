"""The RSSM's scans against plain Python loops, episode resets, and the KL losses."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from reimpl import rssm as rssm_lib
from reimpl.config import preset
from reimpl.rssm import RSSM
from reimpl.spaces import discrete_act_space

BATCH, LENGTH, TOKENS, ACTIONS = 2, 4, 16, 17
CONFIG = preset("debug").rssm


@pytest.fixture(scope="module")
def setup():
    model = RSSM(discrete_act_space(ACTIONS), CONFIG)
    keys = jax.random.split(jax.random.key(0), 5)
    carry = {
        "deter": jax.random.normal(keys[0], (BATCH, CONFIG.deter)),
        "stoch": jax.nn.one_hot(
            jax.random.randint(keys[1], (BATCH, CONFIG.stoch), 0, CONFIG.classes), CONFIG.classes
        ),
    }
    tokens = jax.random.normal(keys[2], (BATCH, LENGTH, TOKENS))
    action = {"action": jax.random.randint(keys[3], (BATCH, LENGTH), 0, ACTIONS)}
    reset = jnp.zeros((BATCH, LENGTH), bool).at[1, 2].set(True)
    init = jax.jit(functools.partial(model.init, method=RSSM.initialize))
    variables = init(keys[4], carry, tokens[:, 0], {"action": action["action"][:, 0]}, reset[:, 0])
    return model, variables["params"], carry, tokens, action, reset


def assert_trees_close(ours, expected, atol=1e-6):
    assert jax.tree.structure(ours) == jax.tree.structure(expected)
    for path, a, b in zip(
        jax.tree_util.tree_flatten_with_path(ours)[0],
        jax.tree.leaves(ours),
        jax.tree.leaves(expected),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, atol=atol, rtol=1e-6, err_msg=str(path[0]))


def stack_steps(steps):
    return jax.tree.map(lambda *xs: jnp.stack(xs, 1), *steps)


@pytest.mark.parametrize("sample", [False, True], ids=["mode", "sample"])
def test_observe_scan_equals_python_loop(setup, sample):
    model, params, carry, tokens, action, reset = setup
    key = jax.random.key(7)
    observe = jax.jit(rssm_lib.observe, static_argnums=(0, 7))
    final, entries, feat = observe(model, params, carry, tokens, action, reset, key, sample)

    step_keys = jax.random.split(key, LENGTH)
    loop_carry, loop_entries, loop_feat = carry, [], []
    for t in range(LENGTH):
        loop_carry, entry, step_feat = model.apply(
            {"params": params},
            loop_carry,
            tokens[:, t],
            {"action": action["action"][:, t]},
            reset[:, t],
            step_keys[t],
            sample,
            method=RSSM.observe_step,
        )
        loop_entries.append(entry)
        loop_feat.append(step_feat)
    assert feat["stoch"].shape == (BATCH, LENGTH, CONFIG.stoch, CONFIG.classes)
    assert_trees_close(final, loop_carry)
    assert_trees_close(entries, stack_steps(loop_entries))
    assert_trees_close(feat, stack_steps(loop_feat))


def toy_policy(carry, key):
    logits = carry["deter"][:, :1] * jnp.arange(ACTIONS, dtype=jnp.float32)  # [B, A]
    return {"action": jax.random.categorical(key, logits)}


@pytest.mark.parametrize("sample", [False, True], ids=["mode", "sample"])
def test_imagine_with_policy_equals_python_loop(setup, sample):
    model, params, carry, *_ = setup
    key, horizon = jax.random.key(3), 3
    imagine = jax.jit(rssm_lib.imagine, static_argnums=(0, 3, 4, 6))
    final, feat, action = imagine(model, params, carry, toy_policy, horizon, key, sample)

    loop_carry, loop_feat, loop_action = carry, [], []
    for step_key in jax.random.split(key, horizon):
        policy_key, prior_key = jax.random.split(step_key)
        step_action = toy_policy(loop_carry, policy_key)
        loop_carry, step_feat = model.apply(
            {"params": params},
            loop_carry,
            step_action,
            prior_key,
            sample,
            method=RSSM.imagine_step,
        )
        loop_feat.append(step_feat)
        loop_action.append(step_action)
    assert_trees_close(final, loop_carry)
    assert_trees_close(feat, stack_steps(loop_feat))
    assert_trees_close(action, stack_steps(loop_action))


def test_imagine_with_given_actions_equals_python_loop(setup):
    model, params, carry, _, action, _ = setup
    key = jax.random.key(4)
    final, feat, used = rssm_lib.imagine(model, params, carry, action, LENGTH, key, True)

    loop_carry, loop_feat = carry, []
    for t, step_key in enumerate(jax.random.split(key, LENGTH)):
        _, prior_key = jax.random.split(step_key)
        loop_carry, step_feat = model.apply(
            {"params": params},
            loop_carry,
            {"action": action["action"][:, t]},
            prior_key,
            True,
            method=RSSM.imagine_step,
        )
        loop_feat.append(step_feat)
    assert_trees_close(final, loop_carry)
    assert_trees_close(feat, stack_steps(loop_feat))
    np.testing.assert_array_equal(used["action"], action["action"])


def test_reset_forgets_the_carry_and_the_previous_action(setup):
    model, params, carry, tokens, action, _ = setup
    reset = jnp.zeros((BATCH, LENGTH), bool).at[:, 0].set(True)
    zeros = rssm_lib.initial_carry(CONFIG, BATCH)
    other_action = {"action": action["action"].at[:, 0].set((action["action"][:, 0] + 1) % ACTIONS)}
    key = jax.random.key(0)
    _, _, from_carry = rssm_lib.observe(model, params, carry, tokens, action, reset, key, False)
    _, _, from_zeros = rssm_lib.observe(
        model, params, zeros, tokens, other_action, reset, key, False
    )
    assert_trees_close(from_carry, from_zeros)
    no_reset = jnp.zeros((BATCH, LENGTH), bool)
    _, _, kept = rssm_lib.observe(model, params, carry, tokens, action, no_reset, key, False)
    assert np.abs(np.asarray(kept["deter"][:, 0] - from_carry["deter"][:, 0])).max() > 1e-3


def test_mode_ignores_the_key_and_sampling_uses_it(setup):
    model, params, carry, tokens, action, reset = setup
    observe = jax.jit(rssm_lib.observe, static_argnums=(0, 7))

    def run(key, sample):
        return observe(model, params, carry, tokens, action, reset, key, sample)[2]["stoch"]

    np.testing.assert_array_equal(run(jax.random.key(1), False), run(jax.random.key(2), False))
    draws = [np.asarray(run(jax.random.key(seed), True)) for seed in range(4)]
    assert any(not np.array_equal(draws[0], other) for other in draws[1:])


def test_kl_is_summed_over_stoch_before_the_free_nats_clip():
    # Two latents whose KLs are each below 1 nat but sum to more than 1.
    posterior = jnp.array([[[3.0, 0.0, 0.0, 0.0], [0.0, 3.0, 0.0, 0.0]]])  # [B=1, S=2, C=4]
    prior = jnp.zeros_like(posterior)
    losses = rssm_lib.kl_losses(posterior, prior, CONFIG)
    per_latent = rssm_lib.latent_dist(posterior, CONFIG.unimix).output.kl(
        rssm_lib.latent_dist(prior, CONFIG.unimix).output
    )
    assert float(per_latent.max()) < CONFIG.free_nats < float(per_latent.sum())
    np.testing.assert_allclose(losses["dyn"], per_latent.sum(-1), rtol=1e-6)
    np.testing.assert_allclose(losses["rep"], per_latent.sum(-1), rtol=1e-6)
    small = rssm_lib.kl_losses(posterior * 0.1, prior, CONFIG)
    np.testing.assert_array_equal(small["dyn"], CONFIG.free_nats)
    unclipped = rssm_lib.kl_losses(
        posterior * 0.1, prior, dataclasses.replace(CONFIG, free_nats=0.0)
    )
    assert float(unclipped["dyn"][0]) < CONFIG.free_nats


def test_kl_gradients_go_to_prior_for_dyn_and_posterior_for_rep():
    posterior = jax.random.normal(jax.random.key(0), (1, 2, 4)) * 3
    prior = jax.random.normal(jax.random.key(1), (1, 2, 4)) * 3
    grads = {
        name: jax.grad(
            lambda post, pri, n=name: rssm_lib.kl_losses(post, pri, CONFIG)[n].sum(), (0, 1)
        )(posterior, prior)
        for name in ("dyn", "rep")
    }
    assert not np.any(grads["dyn"][0]) and np.any(grads["dyn"][1])
    assert np.any(grads["rep"][0]) and not np.any(grads["rep"][1])


def test_starts_flattens_the_last_steps(setup):
    model, params, carry, tokens, action, reset = setup
    _, entries, _ = rssm_lib.observe(
        model, params, carry, tokens, action, reset, jax.random.key(0), False
    )
    starts = rssm_lib.starts(entries, carry, 2)
    assert starts["deter"].shape == (BATCH * 2, CONFIG.deter)
    np.testing.assert_array_equal(starts["deter"][1], entries["deter"][0, LENGTH - 1])
    np.testing.assert_array_equal(starts["deter"][2], entries["deter"][1, LENGTH - 2])
