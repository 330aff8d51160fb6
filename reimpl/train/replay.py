"""On-device replay: one ring buffer per environment, uniform fixed-length sequences.

Every array is [num_envs, capacity, ...]; the envs step in lock-step, so one counter `total`
(steps added per env) gives every ring's write head (total % capacity) and fill level
(min(total, capacity)).

A sampled sequence lies entirely in the written part of one env's ring and never crosses its
write head, so it never joins the newest step to the oldest. It may start mid-episode and may
cross episode boundaries, which `is_first` marks (the env layout puts a reset step after every
`is_last`), exactly as the official replay's sequences do (embodied/core/replay.py: one item per
start position in each worker's stream, sampled uniformly by the default `fracs.uniform: 1.0`).

Not reproduced: the official `replay.online: True` queue, which hands every new
non-overlapping sequence of fresh data to the learner once before uniform sampling resumes.

Bookkeeping as in the official batch: `consec` int32 (chunk index; 0 because configs.yaml
`consec_train: 1`) and `stepid` uint8[20], a unique id per stored step (here: env index and the
step's absolute index, big-endian, in bytes 0-3 and 4-7) that `update` uses to write values back
into the steps they were sampled from (the official Replay.update, used for replay context).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

STEPID_BYTES = 20  # official: 16-byte chunk uuid + 4-byte index


@struct.dataclass
class Replay:
    data: dict[str, jax.Array]  # {key: [E, C, ...]}
    total: jax.Array  # [] int32: steps added per env since init

    @property
    def num_envs(self) -> int:
        return next(iter(self.data.values())).shape[0]

    @property
    def capacity(self) -> int:
        return next(iter(self.data.values())).shape[1]

    @property
    def head(self) -> jax.Array:
        """[] int32: the slot the next step goes to, in every env's ring."""
        return self.total % self.capacity

    @property
    def filled(self) -> jax.Array:
        """[] int32: written steps per env, at most the capacity."""
        return jnp.minimum(self.total, self.capacity)


def init_replay(example_step: dict[str, jax.Array], capacity: int) -> Replay:
    """example_step {key: [E, ...]} fixes the keys, shapes and dtypes."""
    if capacity < 1:
        raise ValueError(f"replay capacity must be positive, got {capacity}")
    data = {key: jnp.zeros((value.shape[0], capacity, *value.shape[1:]), value.dtype)
            for key, value in example_step.items()}
    return Replay(data, jnp.zeros((), jnp.int32))


def _check_step(replay: Replay, step: dict[str, jax.Array]) -> None:
    if set(step) != set(replay.data):
        missing, extra = set(replay.data) - set(step), set(step) - set(replay.data)
        raise ValueError(f"replay step keys differ: missing {sorted(missing)}, unexpected "
                         f"{sorted(extra)}; add the keys the replay was built with")
    for key, value in step.items():
        expected = (replay.num_envs, *replay.data[key].shape[2:])
        if value.shape != expected:
            raise ValueError(f"replay step {key!r}: expected shape {expected}, got {value.shape}")


def add(replay: Replay, step: dict[str, jax.Array]) -> Replay:
    """Write one step {key: [E, ...]} for every env at the write head."""
    _check_step(replay, step)
    head = replay.head
    data = {key: value.at[:, head].set(step[key].astype(value.dtype))
            for key, value in replay.data.items()}
    return Replay(data, replay.total + 1)


def _add_body(replay: Replay, step: dict[str, jax.Array]) -> tuple[Replay, None]:
    return add(replay, step), None


def extend(replay: Replay, steps: dict[str, jax.Array]) -> Replay:
    """Write T steps {key: [T, E, ...]} in order, as T calls of `add`."""
    replay, _ = jax.lax.scan(_add_body, replay, steps)
    return replay


def _encode_stepid(env: jax.Array, step: jax.Array) -> jax.Array:
    """env, step [...] int32 -> [..., 20] uint8 (big-endian env in bytes 0-3, step in 4-7)."""
    shifts = jnp.array([24, 16, 8, 0], jnp.uint32)
    def to_bytes(x):
        return ((x.astype(jnp.uint32)[..., None] >> shifts) & 0xFF).astype(jnp.uint8)

    zeros = jnp.zeros((*step.shape, STEPID_BYTES - 8), jnp.uint8)
    return jnp.concatenate([to_bytes(env), to_bytes(step), zeros], -1)


def decode_stepid(stepid: jax.Array) -> tuple[jax.Array, jax.Array]:
    """[..., 20] uint8 -> (env, absolute step) [...] int32."""
    shifts = jnp.array([24, 16, 8, 0], jnp.uint32)
    def from_bytes(x):
        return (x.astype(jnp.uint32) << shifts).sum(-1).astype(jnp.int32)

    return from_bytes(stepid[..., 0:4]), from_bytes(stepid[..., 4:8])


def _annotate(batch: dict[str, jax.Array]) -> dict[str, jax.Array]:
    """The official Replay._annotate_batch(is_first=True): every sequence starts with is_first,
    and a step followed by is_first gets is_last (for episodes a driver abandoned; with the env
    layout here is_last is already set there)."""
    batch = dict(batch)
    if "is_first" in batch:
        next_first = jnp.concatenate(
            [batch["is_first"][:, 1:], jnp.zeros_like(batch["is_first"][:, :1])], 1)
        batch["is_first"] = batch["is_first"].at[:, 0].set(True)
        if "is_last" in batch:
            batch["is_last"] = batch["is_last"] | next_first
    return batch


def sample(
    replay: Replay, key: jax.Array, batch_size: int, length: int, *, annotate: bool = True
) -> dict[str, jax.Array]:
    """batch_size sequences of `length` steps, uniform over envs and valid starts:
    {key: [B, L, ...]} plus `consec` [B, L] int32 and `stepid` [B, L, 20] uint8. `annotate`
    applies the official batch annotation (is_first on each sequence's first step); without it
    is_first is exactly what the env recorded. Needs at least `length` steps per env."""
    if length > replay.capacity:
        raise ValueError(f"sequence length {length} exceeds the replay capacity "
                         f"{replay.capacity}; raise the capacity")
    if not isinstance(replay.total, jax.core.Tracer) and int(replay.filled) < length:
        raise ValueError(f"replay holds {int(replay.filled)} steps per env, fewer than the "
                         f"sequence length {length}; add more steps before sampling")
    env_key, start_key = jax.random.split(key)
    envs = jax.random.randint(env_key, (batch_size,), 0, replay.num_envs)  # [B]
    # The last valid start keeps the whole sequence behind the write head.
    offsets = jax.random.randint(start_key, (batch_size,), 0, replay.filled - length + 1)
    oldest = replay.total - replay.filled
    steps = oldest + offsets[:, None] + jnp.arange(length)[None]  # [B, L] absolute indices
    slots = steps % replay.capacity
    batch = {key: value[envs[:, None], slots] for key, value in replay.data.items()}
    if annotate:
        batch = _annotate(batch)
    batch["consec"] = jnp.zeros((batch_size, length), jnp.int32)
    batch["stepid"] = _encode_stepid(jnp.broadcast_to(envs[:, None], steps.shape), steps)
    return batch


def update(replay: Replay, stepid: jax.Array, values: dict[str, jax.Array]) -> Replay:
    """Write values {key: [B, L, ...]} back into the steps `stepid` [B, L, 20] names; steps
    overwritten since they were sampled are skipped (the official update skips removed chunks).
    Where a step occurs twice in the batch, one of its values is kept."""
    env, step = decode_stepid(stepid)  # [B, L]
    present = (step >= replay.total - replay.capacity) & (step < replay.total)
    # An out-of-range slot with mode="drop" skips the write instead of rewriting an old value.
    slots = jnp.where(present, step % replay.capacity, replay.capacity)
    data = dict(replay.data)
    for key, value in values.items():
        if key not in data:
            raise ValueError(f"update: replay has no key {key!r}; it stores {sorted(data)}")
        data[key] = data[key].at[env, slots].set(value.astype(data[key].dtype), mode="drop")
    return replay.replace(data=data)
