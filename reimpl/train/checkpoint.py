"""Checkpoints of `reimpl.train`: one msgpack file holding the run's config and its whole loop
state, so `--resume` continues bit-exactly and `reimpl.evaluate` needs nothing but the file.

Layout: {'config': TrainConfig fields, 'state': LoopState, 'key': the host RNG key,
'tally': AchievementTally}. Typed PRNG keys (the env states hold some) are stored as their raw
uint32 data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import serialization
from jax.experimental import multihost_utils


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, or does not fit; the message names the file
    and what to do."""


def _is_key(x) -> bool:
    return jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _key_data(tree):
    return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, tree)


def _gathered(x):
    """An array spread over several processes' devices (multi-host) as its whole value on
    this process; every process must call this, as it is a collective."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return multihost_utils.process_allgather(x, tiled=True)
    return x


def save(path: Path, config: dict[str, Any], state, key, tally) -> None:
    """Atomic: a crash mid-write leaves the previous checkpoint intact. Arrays sharded over
    devices are written whole (a checkpoint does not depend on the devices)."""
    tree = jax.tree.map(_gathered, _key_data({"state": state, "key": key, "tally": tally}))
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(serialization.to_bytes({"config": config, **tree}))
    os.replace(tmp, path)


def read(path: Path) -> dict[str, Any]:
    """The raw checkpoint: nested dicts of numpy arrays and the stored config."""
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; reimpl.train writes "
                              "LOGDIR/checkpoint.msgpack")
    try:
        raw = serialization.msgpack_restore(path.read_bytes())
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"checkpoint {path} is unreadable ({error}); it is not a complete "
                              "reimpl.train checkpoint (truncated or another format)") from error
    missing = {"config", "state", "key", "tally"} - set(raw if isinstance(raw, dict) else ())
    if missing or not isinstance(raw["config"], dict):
        raise CheckpointError(f"{path} is no reimpl.train checkpoint (it lacks "
                              f"{sorted(missing) or 'a config'}): written by another program or "
                              "an older reimpl.train; start a new run")
    return raw


def _restore(template, raw, what: str):
    """raw (numpy dicts) -> a tree like `template`, keys rewrapped; refuses other shapes."""
    restored = serialization.from_state_dict(_key_data(template), raw)
    expected = jax.tree.map(np.shape, _key_data(template))
    found = jax.tree.map(np.shape, restored)
    if expected != found:
        raise ValueError(f"{what} array shapes differ")
    return jax.tree.map(lambda t, x: jax.random.wrap_key_data(x) if _is_key(t) else x,
                        template, restored)


def restore(path: Path, raw: dict[str, Any], state, key, tally):
    """(state, key, tally) from `read(path)`, in the structure of the given ones (--resume).
    The caller has compared the stored config with its own; shapes that still differ mean
    the checkpoint was written by another version of the code."""
    template = {"state": state, "key": key, "tally": tally}
    try:
        restored = _restore(template, {k: raw[k] for k in template}, "loop state")
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"checkpoint {path} was written with this config but does not "
                              f"fit this version of reimpl.train ({error}); resume it with the "
                              "version that wrote it, or start a new run") from error
    return restored["state"], restored["key"], restored["tally"]


def load_agent_params(path: Path, template: dict[str, Any]) -> dict[str, np.ndarray]:
    """The agent's flat parameters {official name: array}, checked against `template`
    (name -> array or ShapeDtypeStruct): every name present, no extra, same shapes."""
    params = read(path)["state"]["agent"]["params"]
    missing, extra = sorted(set(template) - set(params)), sorted(set(params) - set(template))
    shapes = [f"{name} {np.shape(params[name])} (expected {tuple(template[name].shape)})"
              for name in sorted(set(template) & set(params))
              if np.shape(params[name]) != tuple(template[name].shape)]
    if missing or extra or shapes:
        raise CheckpointError(f"checkpoint {path} does not fit the agent its config describes: "
                              f"missing {missing}, unexpected {extra}, mis-shaped {shapes}")
    return {name: np.asarray(params[name], template[name].dtype) for name in template}
