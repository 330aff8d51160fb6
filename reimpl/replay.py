"""On-device replay: one ring buffer per environment, uniform fixed-length sequences.

Every array is [num_envs, capacity, ...]. A sampled sequence lies entirely in the written part
of one env's ring and never crosses its write head, so it never joins the newest step to the
oldest; it may cross episode boundaries, which `is_first` marks (the env layout guarantees a
reset step after every `is_last`), exactly as the official replay's sequences do.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class Replay:
    data: dict[str, jax.Array]  # {key: [E, C, ...]}
    head: jax.Array  # [] int32: next slot to write (shared: envs step in lock-step)
    filled: jax.Array  # [] int32: written steps per env, at most C


def init_replay(example_step: dict[str, jax.Array], capacity: int) -> Replay:
    """example_step {key: [E, ...]} fixes the keys, shapes and dtypes."""
    data = {k: jnp.zeros((v.shape[0], capacity, *v.shape[1:]), v.dtype)
            for k, v in example_step.items()}
    zero = jnp.zeros((), jnp.int32)
    return Replay(data, zero, zero)


def add(replay: Replay, step: dict[str, jax.Array]) -> Replay:
    """Write one step {key: [E, ...]} for every env."""
    capacity = next(iter(replay.data.values())).shape[1]
    data = {k: v.at[:, replay.head].set(step[k]) for k, v in replay.data.items()}
    return Replay(data, (replay.head + 1) % capacity, jnp.minimum(replay.filled + 1, capacity))


def sample(replay: Replay, key: jax.Array, batch_size: int, length: int) -> dict[str, jax.Array]:
    """batch_size sequences of `length` steps, uniform over envs and valid starts;
    {key: [B, L, ...]} plus `consec` (all 0: every sequence is a fresh chunk) and `stepid`."""
    num_envs, capacity = next(iter(replay.data.values())).shape[:2]
    env_key, start_key = jax.random.split(key)
    envs = jax.random.randint(env_key, (batch_size,), 0, num_envs)
    # Offsets count from the oldest written step; the last valid start keeps the whole
    # sequence behind the write head.
    offsets = jax.random.randint(start_key, (batch_size,), 0, replay.filled - length + 1)
    oldest = (replay.head - replay.filled) % capacity
    slots = (oldest + offsets[:, None] + jnp.arange(length)[None]) % capacity  # [B, L]
    batch = {k: v[envs[:, None], slots] for k, v in replay.data.items()}
    batch["consec"] = jnp.zeros((batch_size, length), jnp.int32)
    batch["stepid"] = jnp.zeros((batch_size, length, 20), jnp.uint8)
    return batch
