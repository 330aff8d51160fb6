"""Craftax environments in the official DreamerV3 observation layout, batched and jittable.

Layout of every step, per env: `image` uint8 [H, W, 3] (pixel envs) or `vector` float32 [D]
(symbolic envs), `reward` float32, `is_first`, `is_last`, `is_terminal` bool.

Resets follow the official driver (embodied/core/driver.py `Driver._step` with
embodied/envs/crafter.py `Crafter.step`): the step that ends an episode keeps its own
observation and reward with `is_last` (and `is_terminal` unless only the time limit ended it);
the NEXT step ignores the policy's action and returns the first observation of a new episode
with `is_first` and reward 0. Craftax's own auto-reset instead returns the next episode's first
observation on the terminal step (measured in tests/test_envs.py), losing the final observation
and merging two steps into one, so the craftax env runs with auto_reset=False.

Pixels: Craftax renders floats in [0, 1]; they become uint8 by round(x * 255) (the renders are
not multiples of 1/255: daylight dims them). Craftax-Classic renders 63x63 (9x9 blocks of 7
pixels); the official encoder halves the image four times by reshape-pooling and needs even
sides at every stage, so one black row and column are added at the bottom and right. That keeps
every rendered pixel and is exactly the layout of Crafter's own 64x64 render, which the official
`crafter` preset trains on (crafter/env.py `Env.render`: unit 64 // 9 = 7, a 63x63 view on a
zero canvas). Craftax (full) renders 130x110 (13x11 blocks of 10 pixels); by default it is
resized to 64x64 with an antialiased linear filter (lossy: the official 64x64 layout, same
encoder cost as Classic); `native_resolution=True` instead zero-pads it to 144x112 (the next
multiples of 16), keeping every pixel at 3.9x the pixel count.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from ..spaces import Space, bookkeeping_spaces, discrete_act_space
from . import textures

ENV_NAMES = (
    "Craftax-Classic-Pixels-v1",
    "Craftax-Classic-Symbolic-v1",
    "Craftax-Pixels-v1",
    "Craftax-Symbolic-v1",
)
IMAGE_SIZE = 64  # the official layout (configs.yaml `env.crafter.size`)
# Four halvings by the official encoder (len(enc.simple.mults) == 4) need sides divisible by 16.
POOL_FACTOR = 16


@struct.dataclass
class EnvState:
    inner: Any  # craftax EnvState, every leaf [N, ...]
    needs_reset: jax.Array  # [N] bool: the last step ended an episode


@dataclass(frozen=True)
class Env:
    name: str
    craftax: Any  # a craftax environment built with auto_reset=False
    params: Any  # its craftax EnvParams
    native_resolution: bool = False

    @property
    def pixels(self) -> bool:
        return "Pixels" in self.name

    @property
    def raw_shape(self) -> tuple[int, ...]:
        """What craftax renders: (63, 63, 3) / (130, 110, 3) pixels, (1345,) / (8268,) vector."""
        return tuple(self.craftax.observation_space(self.params).shape)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        height, width, channels = self.raw_shape
        if self.native_resolution:
            return (_round_up(height, POOL_FACTOR), _round_up(width, POOL_FACTOR), channels)
        return (IMAGE_SIZE, IMAGE_SIZE, channels)

    @property
    def obs_space(self) -> dict[str, Space]:
        if self.pixels:
            return {"image": Space(self.image_shape, "uint8"), **bookkeeping_spaces()}
        return {"vector": Space(self.raw_shape, "float32"), **bookkeeping_spaces()}

    @property
    def act_space(self) -> dict[str, Space]:
        return discrete_act_space(self.craftax.action_space(self.params).n)

    def convert(self, raw: jax.Array) -> dict[str, jax.Array]:
        """Craftax observation [..., *raw_shape] -> {'image' or 'vector': [..., *shape]}."""
        if not self.pixels:
            return {"vector": raw.astype(jnp.float32)}
        height, width, _ = self.image_shape
        if raw.shape[-3] <= height and raw.shape[-2] <= width:
            return {"image": to_uint8(pad_image(raw, height, width))}
        return {"image": to_uint8(resize_image(raw, height, width))}

    def reset(self, key: jax.Array, num_envs: int) -> tuple[EnvState, dict[str, jax.Array]]:
        return reset(self, key, num_envs)

    def step(
        self, key: jax.Array, state: EnvState, action: jax.Array
    ) -> tuple[EnvState, dict[str, jax.Array]]:
        return step(self, key, state, action)


def _round_up(size: int, factor: int) -> int:
    return math.ceil(size / factor) * factor


def pad_image(image: jax.Array, height: int, width: int) -> jax.Array:
    """[..., h, w, C] -> [..., height, width, C], zeros (black) below and to the right, as
    Crafter's own render leaves them."""
    *batch, rows, cols, _ = image.shape
    if rows > height or cols > width:
        raise ValueError(f"image {rows}x{cols} is larger than the target {height}x{width}; "
                         "resize it instead of padding")
    pad = [(0, 0)] * len(batch) + [(0, height - rows), (0, width - cols), (0, 0)]
    return jnp.pad(image, pad)


def resize_image(image: jax.Array, height: int, width: int) -> jax.Array:
    """[..., h, w, C] floats -> [..., height, width, C]; antialiased, so downscaling averages
    whole blocks instead of sampling single pixels."""
    shape = (*image.shape[:-3], height, width, image.shape[-1])
    return jax.image.resize(image, shape, method="linear", antialias=True)


def to_uint8(image: jax.Array) -> jax.Array:
    # Clip first: a float outside [0, 255] cast to uint8 is implementation-defined in XLA.
    return jnp.round(jnp.clip(image, 0.0, 1.0) * 255).astype(jnp.uint8)


def make_env(
    name: str = ENV_NAMES[0], *, native_resolution: bool = False, max_timesteps: int | None = None
) -> Env:
    """A Craftax env by name; `max_timesteps` overrides the time limit (10000 Classic, 100000
    full)."""
    if name not in ENV_NAMES:
        raise ValueError(f"unknown environment {name!r}; choose one of {', '.join(ENV_NAMES)}")
    from craftax.craftax_env import make_craftax_env_from_name

    textures.use_user_cache()
    craftax = make_craftax_env_from_name(name, auto_reset=False)
    params = craftax.default_params
    if max_timesteps is not None:
        params = params.replace(max_timesteps=max_timesteps)
    return Env(name, craftax, params, native_resolution)


def _strong_types(tree):
    """Craftax's reset returns weakly typed leaves where its step returns strong ones; equal
    types keep lax.cond branches compatible and stop jit from retracing on the second step."""
    def strong(x):
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            return x
        return jax.lax.convert_element_type(x, x.dtype)

    return jax.tree.map(strong, tree)


def _select(condition: jax.Array, x, y):
    """Per env: x where condition [N] else y, over trees of [N, ...] leaves."""
    def pick(a, b):
        return jnp.where(condition.reshape(condition.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree.map(pick, x, y)


def _reset_all(env: Env, key: jax.Array, num_envs: int):
    keys = jax.random.split(key, num_envs)
    raw, inner = jax.vmap(env.craftax.reset, (0, None))(keys, env.params)
    return raw, _strong_types(inner)


def _observation(env: Env, raw, reward, is_first, is_last, is_terminal) -> dict[str, jax.Array]:
    return {**env.convert(raw), "reward": reward.astype(jnp.float32),
            "is_first": is_first, "is_last": is_last, "is_terminal": is_terminal}


def reset(env: Env, key: jax.Array, num_envs: int) -> tuple[EnvState, dict[str, jax.Array]]:
    """A new episode in each of `num_envs` envs: obs {key: [N, ...]} with is_first set."""
    raw, inner = _reset_all(env, key, num_envs)
    false = jnp.zeros(num_envs, bool)
    obs = _observation(env, raw, jnp.zeros(num_envs), ~false, false, false)
    return EnvState(inner, false), obs


def _terminal(env: Env, inner) -> jax.Array:
    """Game over for a reason other than the time limit (death, lava, beating the boss): the
    official Crafter wrapper's is_terminal is `discount == 0`, and Crafter zeroes the discount
    only on death, never on the time limit."""
    unlimited = env.params.replace(max_timesteps=np.iinfo(np.int32).max)
    return env.craftax.is_terminal(inner, unlimited)


def _reset_where(env: Env, key, needs_reset, raw, inner):
    fresh_raw, fresh_inner = _reset_all(env, key, needs_reset.shape[0])
    return _select(needs_reset, fresh_raw, raw), _select(needs_reset, fresh_inner, inner)


def _keep(key, needs_reset, raw, inner):
    return raw, inner


def step(
    env: Env, key: jax.Array, state: EnvState, action: jax.Array
) -> tuple[EnvState, dict[str, jax.Array]]:
    """action [N] int -> (state, obs {key: [N, ...]}); envs whose last step ended an episode
    ignore their action and start a new one (is_first, reward 0)."""
    num_envs = action.shape[0]
    step_key, reset_key = jax.random.split(key)
    raw, stepped, reward, done, _ = jax.vmap(env.craftax.step, (0, 0, 0, None))(
        jax.random.split(step_key, num_envs), state.inner, action, env.params)
    terminal = jax.vmap(functools.partial(_terminal, env))(stepped)
    stepped = _strong_types(stepped)
    # World generation costs ~5x a step (Classic pixels, CPU); most steps reset no env.
    raw, inner = jax.lax.cond(state.needs_reset.any(), functools.partial(_reset_where, env),
                              _keep, reset_key, state.needs_reset, raw, stepped)
    first = state.needs_reset
    obs = _observation(env, raw, jnp.where(first, 0.0, reward), first, ~first & done,
                       ~first & terminal)
    return EnvState(inner, obs["is_last"]), obs


def achievement_names(env: Env) -> list[str]:
    """Names in the order of `achievements(state)`'s last axis."""
    if "Classic" in env.name:
        from craftax.craftax_classic.constants import Achievement
    else:
        from craftax.craftax.constants import Achievement
    return [achievement.name.lower() for achievement in sorted(Achievement, key=lambda a: a.value)]


def crafter_score(success_rates: np.ndarray) -> float:
    """The Crafter score from success rates in [0, 1] per achievement: the geometric mean of
    the rates in percent, exp(mean(log(1 + rate))) - 1 (Hafner, "Benchmarking the Spectrum of
    Agent Capabilities"; craftax_classic/envs/common.py `compute_score` per episode)."""
    return float(np.exp(np.mean(np.log1p(100 * np.asarray(success_rates)))) - 1)


def achievements(state: EnvState) -> jax.Array:
    """[N, A] bool: achievements unlocked so far in each env's current episode. On a step whose
    obs has is_last the state is still the final one, so this is that episode's result."""
    return state.inner.achievements

