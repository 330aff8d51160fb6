"""`reimpl.train --fused on` (collect and the iteration's updates in one program) against the
split programs: the same run, the same state but for float rounding.

The reward and value heads start off uniform here (outscale 1; official 0): at the official
zero initialisation their prediction is the residual of a symmetric sum that cancels to 0
(docs/OFFICIAL.md, "Facts"), and its sign follows XLA's summation order, which differs between
the fused and the split programs; the first updates then move the policy in opposite directions.

Measured on this configuration (6 iterations, 3 with updates): every integer and boolean leaf
(replay, env states, counters) equal, and float leaves at most 3.6e-7 of the leaf's largest
magnitude apart (the policy's Adam moments; 3 float32 ulps): allowed 1e-6.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest

from reimpl.train import checkpoint
from reimpl.train.run import fused_on, train
from reimpl.train.train_config import TrainConfig

TOLERANCE = 1e-6
CONFIG = TrainConfig(env="Craftax-Classic-Symbolic-v1", preset="debug", num_envs=2,
                     steps_per_collect=4, env_steps=48, replay_capacity=32, max_episode_steps=3,
                     agent="rewhead.outscale=1.0,value.outscale=1.0")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    found = {}
    for fused in ("off", "on"):
        logdir = tmp_path_factory.mktemp(fused)
        last = train(dataclasses.replace(CONFIG, fused=fused, logdir=str(logdir)))
        state = checkpoint.read(logdir / "checkpoint.msgpack")["state"]
        found[fused] = last, jax.tree_util.tree_leaves_with_path(state)
    return found


def test_fused_and_split_runs_end_in_the_same_state(runs):
    (split_last, split), (fused_last, fused) = runs["off"], runs["on"]
    assert split_last["updates"] == fused_last["updates"] > 0
    for (path, a), (_, b) in zip(split, fused, strict=True):
        a, b = np.asarray(a), np.asarray(b)
        name = jax.tree_util.keystr(path)
        if not np.issubdtype(a.dtype, np.floating):
            assert np.array_equal(a, b), name
        elif a.size:
            scale = max(float(np.abs(a).max()), np.finfo(np.float32).tiny)
            assert np.abs(a.astype(np.float64) - b).max() <= TOLERANCE * scale, name


def test_fused_auto_is_off_on_cpu_and_on_elsewhere(monkeypatch):
    assert not fused_on(CONFIG) and fused_on(dataclasses.replace(CONFIG, fused="on"))
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert fused_on(CONFIG) and not fused_on(dataclasses.replace(CONFIG, fused="off"))
