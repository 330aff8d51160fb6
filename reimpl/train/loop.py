"""One training iteration: collect `steps_per_collect` steps in every env with the learner's
policy (a scan over env steps), then run the number of updates the train ratio implies. The
learner is an argument (reimpl/train/learner.py): the reimpl's agent by default, or any other that
meets the protocol.

Two ways to compile an iteration (`reimpl.train --fused`):
- split: collect is one XLA program and each update another, called by the host (`collect`,
  `update`);
- fused: collect and the iteration's updates in one program, the updates a lax.scan over their
  keys (`iterate`), as PureJaxRL-style loops run on accelerators: no host round trip per update.
Both train on the same batches with the same keys; tests/test_fused.py measures how far the two
states end apart. Fused is off on XLA:CPU because there a train step inside a loop is slow:
with convolutions ~10x-50x slower than the same step as its own program (cpu preset,
Classic-Pixels: 75 s against 1.6 s per step, jax 0.10.2; compiling and running 4 updates in a
fori_loop took 1146 s against 114 s for one update as its own program, on a loaded 2-core
machine), and on Classic-Symbolic, with no convolutions, an update inside the loop took
0.8-0.9x the time of a separate call. `benchmarks.device_check` times both on a GPU.

Data parallelism (`reimpl.train.sharding`): `spec.batch_sharding` splits each replayed batch over
the devices; the state's shardings are the compiled programs' own.

Train ratio, in the official sense: replayed steps per environment step. An iteration collects
E * S env steps; each update replays B * L steps (L = batch_length, plus the replay context);
so iterations run g = ratio * E * S / (B * L) updates on average (`updates_per_iteration`), a
whole number each (`updates_due`), the fractions carried over as the official
`elements.when.Ratio` carries them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from . import envs as envs_lib
from . import learner as learner_lib
from . import ratio as ratio_lib
from . import replay as replay_lib


@dataclass(frozen=True)
class LoopSpec:
    learner: learner_lib.Learner
    env: envs_lib.Env
    num_envs: int
    steps_per_collect: int
    updates: float  # per iteration, on average (updates_due gives each iteration's count)
    # A replayed batch's sharding over devices (reimpl.train.sharding: split on the batch axis), or
    # None on one device, where the programs carry no sharding annotation at all.
    batch_sharding: Any = None

    @property
    def agent(self):
        """The reimpl agent of a reimpl learner (`reimpl.train.evaluate` builds its policy from
        it)."""
        return self.learner.agent

    @property
    def sequence_length(self) -> int:
        return self.learner.batch_length + self.learner.replay_context


def updates_per_iteration(train_ratio: float, num_envs: int, steps: int, batch_size: int,
                          batch_length: int) -> float:
    return ratio_lib.grad_steps_for(train_ratio, num_envs, steps, batch_size, batch_length)


def updates_due(per_iteration: float, iteration: int) -> int:
    """Updates after collect phase `iteration` (from 0): the whole updates accrued by its end
    minus those accrued before it, so n phases run floor(n * per_iteration) updates in all.
    A function of the iteration alone, so a resumed run keeps the schedule."""
    return math.floor((iteration + 1) * per_iteration) - math.floor(iteration * per_iteration)


@struct.dataclass
class LoopState:
    agent: Any  # the learner's state
    env: envs_lib.EnvState
    obs: dict[str, jax.Array]  # the current observation of every env, [E, ...]
    policy: dict[str, Any]  # policy carry
    replay: replay_lib.Replay
    episode_return: jax.Array  # [E]
    episode_length: jax.Array  # [E]
    env_steps: jax.Array  # [] int32


def init_loop(spec: LoopSpec, key: jax.Array, capacity: int) -> LoopState:
    agent_key, env_key, policy_key = jax.random.split(key, 3)
    agent_state = spec.learner.init(agent_key)
    env_state, obs = envs_lib.reset(spec.env, env_key, spec.num_envs)
    carry = spec.learner.initial_policy_carry(spec.num_envs)
    # The replay's keys, shapes and dtypes: what one policy step returns, traced, not run.
    _, action, entries = jax.eval_shape(spec.learner.policy_step, agent_state, carry, obs,
                                        policy_key)
    replay = replay_lib.init_replay({**obs, **action, **entries}, capacity)
    zeros = jnp.zeros(spec.num_envs, jnp.float32)
    return own_buffers(LoopState(agent_state, env_state, obs, carry, replay, zeros, zeros,
                                 jnp.zeros((), jnp.int32)))


def own_buffers(loop: LoopState) -> LoopState:
    """The same state with one device buffer per leaf. `reimpl.train` compiles collect and
    update with the state donated, so XLA updates the replay in place instead of copying
    every stored step on every call (measured at capacity 8192 x 8 envs, Classic-Symbolic:
    0.27 s per collect and 0.44 s per update with the copies, against 0.015 s and 0.20 s at
    capacity 64); a donated argument may not hold one buffer twice, and initialisation shares
    some (the slow critic starts as the critic, equal zeros, a restored checkpoint's arrays)."""
    return jax.tree.map(lambda x: jnp.array(x, copy=True), loop)


def _collect_step(spec: LoopSpec, loop: LoopState, key: jax.Array):
    policy_key, env_key = jax.random.split(key)
    obs = loop.obs
    carry, action, entries = spec.learner.policy_step(loop.agent, loop.policy, obs, policy_key)
    replay = replay_lib.add(loop.replay, {**obs, **action, **entries})
    episode_return = jnp.where(obs["is_first"], 0.0, loop.episode_return) + obs["reward"]
    episode_length = jnp.where(obs["is_first"], 0.0, loop.episode_length) + 1
    finished = {"done": obs["is_last"], "return": episode_return, "length": episode_length,
                "achievements": envs_lib.achievements(loop.env)}
    env_state, next_obs = envs_lib.step(spec.env, env_key, loop.env, action["action"])
    loop = loop.replace(env=env_state, obs=next_obs, policy=carry, replay=replay,
                        episode_return=episode_return, episode_length=episode_length,
                        env_steps=loop.env_steps + spec.num_envs)
    return loop, finished


def replayed_batch(spec: LoopSpec, replay: replay_lib.Replay, key: jax.Array):
    """(batch, train key): what an update with `key` trains on, and the key it trains with."""
    sample_key, train_key = jax.random.split(key)
    batch = replay_lib.sample(replay, sample_key, spec.learner.batch_size, spec.sequence_length)
    if spec.batch_sharding is not None:
        batch = jax.lax.with_sharding_constraint(batch, spec.batch_sharding)
    return batch, train_key


def _update_step(spec: LoopSpec, agent_state, inputs):
    replay, key = inputs
    batch, train_key = replayed_batch(spec, replay, key)
    return spec.learner.train_step(agent_state, batch, train_key)


def _episode_summary(finished) -> dict[str, jax.Array]:
    done = finished["done"].astype(jnp.float32)  # [S, E]
    count = done.sum()
    per_episode = lambda x: (x * done).sum() / jnp.maximum(count, 1)  # noqa: E731
    unlocked = (finished["achievements"] * done[..., None]).sum((0, 1))  # [A]
    return {"episodes": count, "episode/return": per_episode(finished["return"]),
            "episode/length": per_episode(finished["length"]), "achievement_counts": unlocked}


def collect(spec: LoopSpec, loop: LoopState, key: jax.Array):
    """`steps_per_collect` policy and env steps in every env, each step added to the replay."""
    keys = jax.random.split(key, spec.steps_per_collect)
    loop, finished = jax.lax.scan(lambda state, k: _collect_step(spec, state, k), loop, keys)
    return loop, _episode_summary(finished)


def ready(spec: LoopSpec, loop: LoopState) -> bool:
    """Updates start once every env's replay holds one full sequence."""
    return int(loop.replay.filled) >= spec.sequence_length


def ready_after_collect(spec: LoopSpec, loop: LoopState) -> bool:
    """`ready` as it will be after the next collect: the host decides before a fused iteration
    whether it holds updates."""
    total = int(loop.replay.total) + spec.steps_per_collect
    return min(total, loop.replay.capacity) >= spec.sequence_length


def update(spec: LoopSpec, loop: LoopState, key: jax.Array):
    """One train step on a batch sampled from the replay."""
    agent_state, metrics = _update_step(spec, loop.agent, (loop.replay, key))
    return loop.replace(agent=agent_state), metrics


def _fused_update(spec: LoopSpec, replay: replay_lib.Replay, agent_state, key: jax.Array):
    return _update_step(spec, agent_state, (replay, key))


def iterate(spec: LoopSpec, loop: LoopState, collect_key: jax.Array, update_keys: jax.Array):
    """`collect`, then one `update` per key of update_keys [U], in one program: (state,
    episode summary, metrics {name: [U]}). The same keys as the split calls give the same
    batches; the replay is read, never written, by the updates. Jitted, it compiles once per
    update count, which `updates_due` makes at most two (floor and ceiling of the average)."""
    loop, summary = collect(spec, loop, collect_key)
    body = functools.partial(_fused_update, spec, loop.replay)
    agent_state, metrics = jax.lax.scan(body, loop.agent, update_keys)
    return loop.replace(agent=agent_state), summary, metrics
