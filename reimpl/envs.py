"""Craftax environments in the official DreamerV3 observation layout, batched and jittable.

Layout per step: `image` uint8 [64, 64, 3] (pixel envs) or `vector` float32 (symbolic envs),
`reward` float32, `is_first`, `is_last`, `is_terminal` bool.

Resets follow the official driver (embodied/core/driver.py): the step that ends an episode is
recorded with its own observation and `is_last` (and `is_terminal` unless the time limit ended
it); the NEXT step ignores the policy's action and returns the first observation of a new
episode with `is_first` and reward 0. Craftax's own auto-reset would instead replace the
final observation by the reset one, losing it; so the base env runs with auto_reset=False.

Craftax-Classic pixels are 63x63: the official encoder halves the image four times and needs
an even side at each stage, so one row and column are added by edge replication (every
original pixel is kept exactly), then [0, 1] floats become uint8 by round(x * 255).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from .spaces import Space, bookkeeping_spaces, discrete_act_space

ENV_NAMES = ("Craftax-Classic-Pixels-v1", "Craftax-Classic-Symbolic-v1",
             "Craftax-Pixels-v1", "Craftax-Symbolic-v1")


@struct.dataclass
class EnvState:
    inner: Any  # craftax EnvState, batched [N]
    needs_reset: jax.Array  # [N] bool: the last step ended an episode


@dataclass(frozen=True)
class Env:
    name: str
    craftax: Any = struct.field(pytree_node=False)
    params: Any = struct.field(pytree_node=False)

    @property
    def pixels(self) -> bool:
        return "Pixels" in self.name

    @property
    def obs_space(self) -> dict[str, Space]:
        if self.pixels:
            height, width, channels = self._raw_shape
            side = max(_even(height), _even(width))
            return {"image": Space((side, side, channels), "uint8"), **bookkeeping_spaces()}
        return {"vector": Space(self._raw_shape, "float32"), **bookkeeping_spaces()}

    @property
    def act_space(self) -> dict[str, Space]:
        return discrete_act_space(self.craftax.action_space(self.params).n)

    @property
    def _raw_shape(self) -> tuple[int, ...]:
        return tuple(self.craftax.observation_space(self.params).shape)

    def convert(self, raw: jax.Array) -> dict[str, jax.Array]:
        if not self.pixels:
            return {"vector": raw.astype(jnp.float32)}
        height, width, _ = raw.shape[-3:]
        side = self.obs_space["image"].shape[0]
        pad = [(0, 0)] * (raw.ndim - 3) + [(0, side - height), (0, side - width), (0, 0)]
        image = jnp.pad(raw, pad, mode="edge")
        return {"image": jnp.round(jnp.clip(image, 0, 1) * 255).astype(jnp.uint8)}


def _even(size: int) -> int:
    return size + size % 2


def make_env(name: str = ENV_NAMES[0]) -> Env:
    if name not in ENV_NAMES:
        raise ValueError(f"unknown environment {name!r}; choose one of {', '.join(ENV_NAMES)}")
    from craftax.craftax_env import make_craftax_env_from_name

    craftax = make_craftax_env_from_name(name, auto_reset=False)
    return Env(name, craftax, craftax.default_params)


def _observation(env: Env, raw, reward, is_first, is_last, is_terminal) -> dict[str, jax.Array]:
    return {**env.convert(raw), "reward": reward.astype(jnp.float32), "is_first": is_first,
            "is_last": is_last, "is_terminal": is_terminal}


def reset(env: Env, key: jax.Array, num_envs: int) -> tuple[EnvState, dict[str, jax.Array]]:
    raw, inner = jax.vmap(env.craftax.reset, (0, None))(jax.random.split(key, num_envs),
                                                       env.params)
    false = jnp.zeros(num_envs, bool)
    obs = _observation(env, raw, jnp.zeros(num_envs), ~false, false, false)
    return EnvState(inner, false), obs


def _step_one(env: Env, key, inner, needs_reset, action):
    reset_key, step_key = jax.random.split(key)
    reset_raw, reset_inner = env.craftax.reset(reset_key, env.params)
    raw, stepped, reward, done, _ = env.craftax.step(step_key, inner, action, env.params)
    timeout = stepped.timestep >= env.params.max_timesteps
    pick = lambda a, b: jax.tree.map(lambda x, y: jnp.where(needs_reset, x, y), a, b)  # noqa: E731
    inner = pick(reset_inner, stepped)
    obs = _observation(
        env, pick(reset_raw, raw), jnp.where(needs_reset, 0.0, reward), needs_reset,
        ~needs_reset & done, ~needs_reset & done & ~timeout)
    return inner, obs


def step(env: Env, key: jax.Array, state: EnvState, action: jax.Array):
    """action [N] int -> (state, obs {key: [N, ...]})."""
    keys = jax.random.split(key, action.shape[0])
    inner, obs = jax.vmap(lambda k, s, r, a: _step_one(env, k, s, r, a))(
        keys, state.inner, state.needs_reset, action)
    return EnvState(inner, obs["is_last"]), obs


def achievement_names(env: Env) -> list[str]:
    if "Classic" in env.name:
        from craftax.craftax_classic.constants import Achievement
    else:
        from craftax.craftax.constants import Achievement
    return [achievement.name.lower() for achievement in Achievement]


def crafter_score(success_rates: np.ndarray) -> float:
    """The Crafter score: the geometric mean of the achievement success rates in percent,
    exp(mean(log(1 + rate))) - 1 (Hafner, "Benchmarking the Spectrum of Agent
    Capabilities")."""
    return float(np.exp(np.mean(np.log1p(100 * np.asarray(success_rates)))) - 1)


def achievements(state: EnvState) -> jax.Array:
    """[N, A] bool: achievements unlocked so far in each env's current episode."""
    return state.inner.achievements
