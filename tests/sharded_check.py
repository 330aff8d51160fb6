"""Run by tests/test_sharding.py in a subprocess: XLA_FLAGS must force 4 host devices before
jax is imported, which a pytest process has long done. Prints one JSON object:

- update: the sharded update (4 devices) against the single-device update from the same state
  and key (the same global batch): worst difference of each float leaf of the learner's state
  relative to the leaf's largest magnitude, and whether every other leaf is equal;
- collect: the same for a sharded collect against the unsharded one (whole loop state and the
  episode summary);
- fused: the same for a fused iteration (a collect and 2 updates in one program);
- replay_gathered: the replay keys whose whole array the compiled sharded update all-gathers
  (at replay capacity 1024; at 32, XLA gathers the [E, C] scalar keys, then as small as the
  batch, rather than reduce the sampled ones);
- train: `reimpl.train --devices 4` run uninterrupted and stopped-then-resumed, their
  checkpoints byte-equal or not.

Usage: python tests/sharded_check.py WORKDIR
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + " --xla_force_host_platform_device_count=4")

import dataclasses  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

from reimpl.train import loop as loop_lib  # noqa: E402
from reimpl.train.__main__ import main  # noqa: E402
from reimpl.train.run import make_spec  # noqa: E402
from reimpl.train.train_config import TrainConfig  # noqa: E402

# Reward and value heads off uniform (outscale 1, official 0): at the official zero
# initialisation their prediction is the residual of a symmetric sum that cancels to 0, whose
# sign follows XLA's summation order (docs/OFFICIAL.md, "Facts"); any other program order flips it.
CONFIG = TrainConfig(env="Craftax-Classic-Symbolic-v1", preset="debug", num_envs=4,
                     steps_per_collect=4, env_steps=32, replay_capacity=32, max_episode_steps=3,
                     agent="rewhead.outscale=1.0,value.outscale=1.0")


def _host(tree):
    keys = lambda x: jax.random.key_data(x) if jax.dtypes.issubdtype(  # noqa: E731
        x.dtype, jax.dtypes.prng_key) else x
    return jax.tree_util.tree_leaves_with_path(jax.device_get(jax.tree.map(keys, tree)))


def compare(ours, theirs) -> dict:
    """{'worst_relative': float, 'worst_leaf': path, 'others_equal': bool}."""
    worst, where, equal = 0.0, "", True
    for (path, a), (_, b) in zip(_host(ours), _host(theirs), strict=True):
        a, b = np.asarray(a), np.asarray(b)
        if not np.issubdtype(a.dtype, np.floating):
            equal &= bool(np.array_equal(a, b))
            continue
        scale = float(np.abs(a).max()) if a.size else 0.0
        diff = float(np.abs(a.astype(np.float64) - b).max()) if a.size else 0.0
        relative = diff / scale if scale else diff
        if relative > worst:
            worst, where = relative, jax.tree_util.keystr(path)
    return {"worst_relative": worst, "worst_leaf": where, "others_equal": equal}


def _filled_state(one):
    state = loop_lib.init_loop(one.spec, jax.random.key(0), CONFIG.replay_capacity)
    for i in range(3):
        state, _ = one.collect(state, jax.random.key(10 + i))
    assert loop_lib.ready(one.spec, state)
    return state


def replay_gathered(capacity: int = 1024) -> list[str]:
    """The replay arrays the compiled sharded update all-gathers whole (it should gather only
    the sampled sequences), traced at `capacity` without running anything."""
    config = dataclasses.replace(CONFIG, devices=4, replay_capacity=capacity)
    four = make_spec(config)
    shapes = jax.eval_shape(lambda key: loop_lib.init_loop(four.spec, key, capacity),
                            jax.random.key(0))
    state = jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s),
                         shapes, four.state_sharding)
    text = four.update.lower(state, jax.random.key(0)).compile().as_text()
    gathered = [line for line in text.splitlines() if re.search(r"all-gather(-start)?\(", line)]
    return [key for key, value in shapes.replay.data.items()
            if any("[" + ",".join(map(str, value.shape)) + "]" in line for line in gathered)]


def check_programs() -> dict:
    one, four = make_spec(CONFIG), make_spec(dataclasses.replace(CONFIG, devices=4))
    state = _filled_state(one)
    placed = lambda: jax.device_put(loop_lib.own_buffers(state), four.state_sharding)  # noqa
    copy = lambda: loop_lib.own_buffers(state)  # noqa: E731
    key = jax.random.key(7)
    single, single_metrics = one.update(copy(), key)
    sharded, sharded_metrics = four.update(placed(), key)
    update = compare({"agent": single.agent, "metrics": single_metrics},
                     {"agent": sharded.agent, "metrics": sharded_metrics})
    update["devices"] = len(sharded.agent.params["dyn/obslogit/kernel"].sharding.device_set)
    single, single_summary = one.collect(copy(), key)
    sharded, sharded_summary = four.collect(placed(), key)
    collect = compare({"state": single, "summary": single_summary},
                      {"state": sharded, "summary": sharded_summary})
    collect["replay_split"] = str(sharded.replay.data["vector"].sharding.spec)
    keys = jax.random.split(key, 3)  # a collect and 2 updates
    single, _, single_metrics = one.fused(copy(), keys[0], keys[1:])
    sharded, _, sharded_metrics = four.fused(placed(), keys[0], keys[1:])
    fused = compare({"state": single, "metrics": single_metrics},
                    {"state": sharded, "metrics": sharded_metrics})
    return {"update": update, "collect": collect, "fused": fused}


def check_train(workdir: Path) -> dict:
    argv = ["--env", CONFIG.env, "--preset", "debug", "--num-envs", "4", "--steps-per-collect",
            "4", "--replay-capacity", "32", "--max-episode-steps", "3", "--devices", "4",
            "--agent", CONFIG.agent]
    whole, parts = workdir / "whole", workdir / "parts"
    # Updates start in the third iteration (16 env steps each), when every env holds 11 steps.
    codes = [main([*argv, "--env-steps", "64", "--logdir", str(whole)]),
             main([*argv, "--env-steps", "48", "--logdir", str(parts)]),
             main([*argv, "--env-steps", "64", "--logdir", str(parts), "--resume"])]
    lines = [json.loads(line) for line in (whole / "metrics.jsonl").read_text().splitlines()]
    checkpoint = "checkpoint.msgpack"
    return {"codes": codes, "updates": [line["updates"] for line in lines],
            "checkpoints_equal": (whole / checkpoint).read_bytes() == (
                parts / checkpoint).read_bytes()}


if __name__ == "__main__":
    results = {"device_count": jax.device_count(), **check_programs(),
               "replay_gathered": replay_gathered(), "train": check_train(Path(sys.argv[1]))}
    print(json.dumps(results))
