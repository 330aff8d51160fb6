"""Craftax in the official layout: shapes and dtypes for every env, pixel conversion, and the
reset semantics, measured against the official driver's and against craftax's own auto-reset."""

from __future__ import annotations

import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from craftax.craftax_env import make_craftax_env_from_name

from reimpl.spaces import bookkeeping_spaces
from reimpl.train import envs, textures

NUM_ENVS = 2
TIME_LIMIT = 3
STEPS = 9

# name: (observation key, our shape, craftax's shape, actions, achievements), measured.
LAYOUT = {
    "Craftax-Classic-Pixels-v1": ("image", (64, 64, 3), (63, 63, 3), 17, 22),
    "Craftax-Classic-Symbolic-v1": ("vector", (1345,), (1345,), 17, 22),
    "Craftax-Pixels-v1": ("image", (64, 64, 3), (130, 110, 3), 43, 67),
    "Craftax-Symbolic-v1": ("vector", (8268,), (8268,), 43, 67),
}
DTYPES = {"image": np.uint8, "vector": np.float32, "reward": np.float32, "is_first": bool,
          "is_last": bool, "is_terminal": bool}


@functools.cache
def _abstract_steps(name: str):
    """Shapes and dtypes of reset and of one step, traced but not compiled (fast)."""
    env = envs.make_env(name)
    key = jax.random.key(0)
    state, obs = jax.eval_shape(lambda k: envs.reset(env, k, NUM_ENVS), key)
    action = jax.ShapeDtypeStruct((NUM_ENVS,), jnp.int32)
    next_state, next_obs = jax.eval_shape(functools.partial(envs.step, env), key, state, action)
    return env, state, obs, next_state, next_obs


@pytest.mark.parametrize("name", envs.ENV_NAMES)
def test_observation_layout(name):
    env, _, obs, _, next_obs = _abstract_steps(name)
    key, shape, raw_shape, actions, achievements = LAYOUT[name]
    assert env.raw_shape == raw_shape
    assert env.obs_space[key].shape == shape
    assert env.act_space["action"].classes == actions
    assert len(envs.achievement_names(env)) == achievements
    for where, tree in (("reset", obs), ("step", next_obs)):
        assert set(tree) == set(env.obs_space) == {key, *bookkeeping_spaces()}, where
        for k, value in tree.items():
            expected = ((NUM_ENVS, *env.obs_space[k].shape), np.dtype(DTYPES[k]))
            assert (value.shape, value.dtype) == expected, (where, k, expected, value)
            assert np.dtype(env.obs_space[k].dtype) == value.dtype, (where, k)


@pytest.mark.parametrize("name", envs.ENV_NAMES)
def test_step_state_has_the_reset_state_types(name):
    """Equal types (weak types included) are what lets jit reuse one compiled step and lets the
    state be a scan carry; craftax's own reset and step states differ (weak int32 leaves)."""
    _, state, _, next_state, _ = _abstract_steps(name)
    before = jax.tree_util.tree_leaves_with_path(state)
    after = jax.tree.leaves(next_state)
    differ = [(jax.tree_util.keystr(path), a, b) for (path, a), b in zip(before, after, strict=True)
              if (a.shape, a.dtype, a.weak_type) != (b.shape, b.dtype, b.weak_type)]
    assert len(before) == len(after) and not differ, differ[:3]


def test_unknown_env_name_lists_the_choices():
    with pytest.raises(ValueError, match="Craftax-Classic-Pixels-v1"):
        envs.make_env("Craftax-Classic-Pixels-v0")


def test_achievement_names_follow_the_state_index():
    from craftax.craftax_classic.constants import Achievement

    names = envs.achievement_names(envs.make_env("Craftax-Classic-Symbolic-v1"))
    assert names[Achievement.COLLECT_DIAMOND.value] == "collect_diamond"
    assert names[0] == "collect_wood" and len(set(names)) == len(names) == 22


def test_crafter_score_is_the_geometric_mean_of_success_rates():
    assert envs.crafter_score(np.zeros(22)) == 0.0
    assert envs.crafter_score(np.ones(22)) == pytest.approx(100.0)
    # One achievement always, the rest never: exp(log(101) / 22) - 1.
    rates = np.zeros(22)
    rates[0] = 1.0
    assert envs.crafter_score(rates) == pytest.approx(np.exp(np.log(101) / 22) - 1)


# --- pixel conversion --------------------------------------------------------------------


def test_classic_pixels_are_kept_exactly_with_a_black_border():
    env = envs.make_env("Craftax-Classic-Pixels-v1")
    raw = jax.random.uniform(jax.random.key(0), (NUM_ENVS, 63, 63, 3))
    image = np.asarray(env.convert(raw)["image"])
    assert image.shape == (NUM_ENVS, 64, 64, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image[:, :63, :63], np.round(np.asarray(raw) * 255))
    # Crafter's own 64x64 render: a 63x63 view on a zero canvas, at the top left.
    assert not image[:, 63].any() and not image[:, :, 63].any()


def test_full_pixels_native_resolution_pads_exactly_to_multiples_of_16():
    env = envs.make_env("Craftax-Pixels-v1", native_resolution=True)
    assert env.obs_space["image"].shape == (144, 112, 3)
    raw = jax.random.uniform(jax.random.key(1), (130, 110, 3))
    image = np.asarray(env.convert(raw)["image"])
    np.testing.assert_array_equal(image[:130, :110], np.round(np.asarray(raw) * 255))
    assert not image[130:].any() and not image[:, 110:].any()


def test_full_pixels_resize_to_64_keeps_levels_and_means():
    env = envs.make_env("Craftax-Pixels-v1")
    for level, expected in ((0.0, 0), (100 / 255, 100), (1.0, 255)):
        image = np.asarray(env.convert(jnp.full((130, 110, 3), level))["image"])
        assert image.shape == (64, 64, 3) and (image == expected).all(), level
    # 10x10-pixel blocks, as craftax draws them: averaging keeps each colour's mean.
    blocks = jax.random.uniform(jax.random.key(2), (13, 11, 3))
    raw = jnp.repeat(jnp.repeat(blocks, 10, 0), 10, 1)
    image = np.asarray(env.convert(raw)["image"]).astype(np.float64)
    mean_error = np.abs(image.mean((0, 1)) - np.asarray(raw).mean((0, 1)) * 255)
    assert (mean_error < 2.0).all(), mean_error  # of 255 levels


def test_uint8_conversion_rounds_and_clips():
    levels = jnp.arange(256) / 255.0
    np.testing.assert_array_equal(np.asarray(envs.to_uint8(levels)), np.arange(256))
    np.testing.assert_array_equal(np.asarray(envs.to_uint8(levels + 0.4 / 255)),
                                  np.arange(256))
    np.testing.assert_array_equal(np.asarray(envs.to_uint8(jnp.array([-0.2, 1.3]))), [0, 255])


# --- reset semantics ---------------------------------------------------------------------


def _perturb(state: envs.EnvState, kill: jax.Array, grant: jax.Array) -> envs.EnvState:
    """kill [N]: health 0 (a true terminal on the next step); grant [N]: unlock achievement 0."""
    inner = state.inner
    inner = inner.replace(
        player_health=jnp.where(kill, 0, inner.player_health),
        achievements=inner.achievements.at[:, 0].set(inner.achievements[:, 0] | grant))
    return state.replace(inner=inner)


def _record(env: envs.Env, state: envs.EnvState, obs) -> dict[str, jax.Array]:
    return {"timestep": state.inner.timestep, "achievements": envs.achievements(state),
            "obs_is_state": (obs["vector"] == jax.vmap(env.craftax.get_obs)(state.inner)).all(-1)}


def _rollout_body(env: envs.Env, state: envs.EnvState, inputs):
    key, action, kill, grant = inputs
    state, obs = envs.step(env, key, _perturb(state, kill, grant), action)
    return state, (obs, _record(env, state, obs))


def _rollout(env: envs.Env, key: jax.Array, actions, kills, grants):
    """reset, then STEPS steps; returns (obs, record), each [STEPS + 1, N, ...]."""
    reset_key, step_key = jax.random.split(key)
    state, obs = envs.reset(env, reset_key, NUM_ENVS)
    keys = jax.random.split(step_key, actions.shape[0])
    body = functools.partial(_rollout_body, env)
    _, (trace, record) = jax.lax.scan(body, state, (keys, actions, kills, grants))
    first = (obs, _record(env, state, obs))
    return jax.tree.map(lambda x, y: jnp.concatenate([x[None], y]), first, (trace, record))


@pytest.fixture(scope="module")
def rollout():
    """Classic symbolic (the cheapest to compile) with a 3-step time limit; one compile."""
    env = envs.make_env("Craftax-Classic-Symbolic-v1", max_timesteps=TIME_LIMIT)
    run = jax.jit(functools.partial(_rollout, env))

    def call(actions=None, kills=None, grants=None):
        shape = (STEPS, NUM_ENVS)
        actions = np.zeros(shape, np.int32) if actions is None else actions
        kills = np.zeros(shape, bool) if kills is None else kills
        grants = np.zeros(shape, bool) if grants is None else grants
        return jax.tree.map(np.asarray, run(jax.random.key(0), actions, kills, grants))

    return call


def _flags(trace, key):
    return trace[key].T.astype(int).tolist()  # [N, STEPS + 1]


def test_time_limit_follows_the_official_driver(rollout):
    obs, record = rollout()
    # reset obs, 3 steps (the third hits the time limit), then the next episode's reset obs.
    pattern_first = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0]
    pattern_last = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    assert _flags(obs, "is_first") == [pattern_first] * NUM_ENVS
    assert _flags(obs, "is_last") == [pattern_last] * NUM_ENVS
    assert not obs["is_terminal"].any(), "a time limit is a truncation, not a terminal"
    assert (obs["reward"][obs["is_first"]] == 0).all()
    # The is_last step keeps the final state and its own observation; the reset step starts
    # a fresh episode.
    assert record["timestep"].T.tolist() == [[0, 1, 2, 3, 0, 1, 2, 3, 0, 1]] * NUM_ENVS
    assert record["obs_is_state"].all()


def test_true_terminals_and_a_terminal_at_the_time_limit(rollout):
    kills = np.zeros((STEPS, NUM_ENVS), bool)
    kills[1, 0] = True  # env 0 dies on its second step
    kills[2, 1] = True  # env 1 dies on the step that also reaches the time limit
    obs, record = rollout(kills=kills)
    assert _flags(obs, "is_last") == [[0, 0, 1, 0, 0, 0, 1, 0, 0, 0],
                                      [0, 0, 0, 1, 0, 0, 0, 1, 0, 0]]
    assert _flags(obs, "is_terminal") == [[0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
                                          [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]]
    assert _flags(obs, "is_first") == [[1, 0, 0, 1, 0, 0, 0, 1, 0, 0],
                                       [1, 0, 0, 0, 1, 0, 0, 0, 1, 0]]
    assert record["timestep"][:, 0].tolist() == [0, 1, 2, 0, 1, 2, 3, 0, 1, 2]
    assert record["obs_is_state"].all()


def test_one_env_resetting_leaves_the_others_untouched(rollout):
    kills = np.zeros((STEPS, NUM_ENVS), bool)
    kills[1, 0] = True
    reference, _ = rollout()
    obs, _ = rollout(kills=kills)
    for key in obs:
        np.testing.assert_array_equal(obs[key][:, 1], reference[key][:, 1], err_msg=key)
    assert not np.array_equal(obs["vector"][:, 0], reference["vector"][:, 0])


def test_the_action_on_a_reset_step_is_ignored(rollout):
    reference, _ = rollout()
    resets = reference["is_first"][1:]  # [STEPS, N]: steps whose output is a reset obs
    other = np.where(resets, 3, 0).astype(np.int32)  # a different action on reset steps only
    obs, _ = rollout(actions=other)
    for key in obs:
        np.testing.assert_array_equal(obs[key], reference[key], err_msg=key)
    # Control: the same change on an ordinary step does change what follows.
    moved = np.zeros((STEPS, NUM_ENVS), np.int32)
    moved[0] = 3
    assert not np.array_equal(rollout(actions=moved)[0]["vector"], reference["vector"])


def test_achievements_cover_the_episode_that_just_ended(rollout):
    grants = np.zeros((STEPS, NUM_ENVS), bool)
    grants[1, 0] = True  # unlocked during env 0's first episode (last step: trace index 3)
    obs, record = rollout(grants=grants)
    unlocked = record["achievements"][:, 0, 0].astype(int).tolist()
    assert unlocked == [0, 0, 1, 1, 0, 0, 0, 0, 0, 0]
    assert obs["is_last"][3, 0] and not record["achievements"][obs["is_first"]].any()


def _craftax_auto_reset_step(env, params, key):
    """Craftax's own auto-reset env: reset, then one step that ends the episode."""
    reset_key, step_key = jax.random.split(key)
    first_obs, state = env.reset(reset_key, params)
    obs, next_state, reward, done, _ = env.step(step_key, state, 0, params)
    # EnvironmentAutoReset.step splits its key into (step, reset) in this order.
    reset_obs, _ = env.reset(jax.random.split(step_key)[1], params)
    return first_obs, obs, next_state.timestep, done, reset_obs


def test_craftax_auto_reset_returns_the_next_episodes_first_observation():
    """The measurement behind envs.py using auto_reset=False: on the terminal step craftax
    returns done=True with the NEW episode's first observation and state, so the final
    observation of the ending episode never reaches the agent."""
    env = make_craftax_env_from_name("Craftax-Classic-Symbolic-v1", auto_reset=True)
    params = env.default_params.replace(max_timesteps=1)
    measure = jax.jit(functools.partial(_craftax_auto_reset_step, env, params))
    first_obs, obs, timestep, done, reset_obs = jax.tree.map(np.asarray,
                                                             measure(jax.random.key(3)))
    assert done and timestep == 0
    np.testing.assert_array_equal(obs, reset_obs)
    assert not np.array_equal(obs, first_obs)  # a new world, not the episode that ended


def test_craftax_textures_are_cached_per_user_not_per_venv():
    """A fresh venv would otherwise render every texture again (reimpl/train/textures.py)."""
    from craftax.craftax import constants

    envs.make_env("Craftax-Pixels-v1")
    cached = Path(constants.TEXTURE_CACHE_FILE)
    assert cached.parent == textures.directory() and cached.is_file()
