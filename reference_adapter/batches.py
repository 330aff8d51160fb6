"""Batches in the official replay layout: build random ones, and check given ones.

Layout (per key, [B, T, *space.shape]): every observation key (`image` uint8, `reward`,
`is_first`, `is_last`, `is_terminal`), every action key (discrete actions as integer indices),
`consec` int32 (0 marks a chunk whose first `replay_context` steps are context), `stepid` uint8
[B, T, 20], and with `replay_context` > 0 the stored RSSM entries `dyn/deter`, `dyn/stoch`.
"""

from __future__ import annotations

import numpy as np

from .errors import BatchError


def example_batch(
    obs_space: dict, act_space: dict, entry_shapes: dict[str, tuple[int, ...]],
    batch_size: int, batch_length: int, seed: int = 0,
) -> dict[str, np.ndarray]:
    """Random data with episode starts, terminals and truncations at random places."""
    rng = np.random.default_rng(seed)
    shape = (batch_size, batch_length)
    batch = {}
    for key, space in obs_space.items():
        if key in ("is_first", "is_last", "is_terminal"):
            continue
        full = (*shape, *space.shape)
        if space.dtype == np.uint8:
            batch[key] = rng.integers(0, 256, full, dtype=np.uint8)
        else:
            batch[key] = rng.normal(0, 1, full).astype(space.dtype)
    is_last = rng.random(shape) < 0.1
    batch["is_last"] = is_last
    batch["is_terminal"] = is_last & (rng.random(shape) < 0.5)
    is_first = np.zeros(shape, bool)
    is_first[:, 0] = True
    is_first[:, 1:] = is_last[:, :-1]
    batch["is_first"] = is_first
    batch["reward"] = np.where(is_first, 0.0, batch["reward"]).astype(np.float32)
    for key, space in act_space.items():
        if space.discrete:
            high = int(np.asarray(space.classes).max())
            batch[key] = rng.integers(0, high, (*shape, *space.shape)).astype(space.dtype)
        else:
            batch[key] = rng.uniform(-1, 1, (*shape, *space.shape)).astype(space.dtype)
    batch["consec"] = np.zeros(shape, np.int32)
    batch["stepid"] = np.zeros((*shape, 20), np.uint8)
    for key, entry_shape in entry_shapes.items():
        if key.endswith("stoch"):
            index = rng.integers(0, entry_shape[-1], (*shape, *entry_shape[:-1]))
            batch[key] = np.eye(entry_shape[-1], dtype=np.float32)[index]
        else:
            batch[key] = rng.normal(0, 1, (*shape, *entry_shape)).astype(np.float32)
    return batch


def _expected(obs_space, act_space, entry_shapes) -> dict[str, tuple[tuple, np.dtype]]:
    expected = {k: (tuple(s.shape), np.dtype(s.dtype)) for k, s in obs_space.items()}
    expected.update({k: (tuple(s.shape), np.dtype(s.dtype)) for k, s in act_space.items()})
    expected["consec"] = ((), np.dtype(np.int32))
    expected["stepid"] = ((20,), np.dtype(np.uint8))
    expected.update({k: (shape, np.dtype(np.float32)) for k, shape in entry_shapes.items()})
    return expected


def check(batch: dict, obs_space: dict, act_space: dict, entry_shapes: dict,
          replay_context: int) -> None:
    """Raise BatchError naming every missing, unknown, mis-shaped, mis-typed or NaN key."""
    expected = _expected(obs_space, act_space, entry_shapes)
    problems = [f"missing key {k!r} (per-step shape {expected[k][0]}, dtype {expected[k][1]})"
                for k in sorted(expected.keys() - batch.keys())]
    problems += [f"unknown key {k!r}" for k in sorted(batch.keys() - expected.keys())]
    leading = {np.shape(v)[:2] for v in batch.values()}
    if len(leading) != 1:
        problems.append(f"keys disagree on the leading [B, T] dims: {sorted(leading)}")
    for key in sorted(expected.keys() & batch.keys()):
        shape, dtype = expected[key]
        value = np.asarray(batch[key])
        if value.shape[2:] != shape:
            problems.append(f"{key!r} has per-step shape {value.shape[2:]}, expected {shape}")
        elif value.dtype != dtype:
            problems.append(f"{key!r} has dtype {value.dtype}, expected {dtype}")
        elif np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
            problems.append(f"{key!r} has non-finite values (NaN or inf)")
    if len(leading) == 1:
        dims = next(iter(leading))
        if len(dims) == 2 and dims[1] <= replay_context:
            problems.append(
                f"batch length {dims[1]} must exceed replay_context {replay_context}"
            )
    if problems:
        raise BatchError(f"{len(problems)} problem(s) with the batch:\n  " + "\n  ".join(problems))
