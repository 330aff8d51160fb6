"""The official agent as a learner of the reimpl's loop (reference_adapter/learner.py).

Its update, run inside the loop's compiled update program (batch sampled from the loop's
replay in the same program, the train key split there), gives the same new variables as the
adapter's `OfficialAgent.train_step` on the same variables, batch and seed: every variable
(parameters, optimizer state, normalisers, counters) bit for bit (measured: all 177 at the
debug preset on Craftax-Classic-Symbolic; 0.0 max abs difference, so the test asks for
equality). And `reimpl.train` runs it: logs, checkpoints, resumes, refuses a resume with the
other learner.
"""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from parity_tests.operating_point import mid_warmup
from reference_adapter.official_config import make_config
from reference_adapter.typed_config import official_overrides
from reimpl.config import override, preset
from reimpl.train import loop as loop_lib
from reimpl.train.run import RunRefused, make_spec, train
from reimpl.train.train_config import TrainConfig

OFFICIAL = "reference_adapter.learner:official_learner"
CONFIG = TrainConfig(env="Craftax-Classic-Symbolic-v1", preset="debug", learner=OFFICIAL,
                     num_envs=2, steps_per_collect=8, env_steps=32, replay_capacity=32,
                     max_episode_steps=5)


@pytest.fixture(scope="module")
def filled():
    """The compiled loop with the official learner and a state whose replay can be sampled."""
    compiled = make_spec(CONFIG)
    state = loop_lib.init_loop(compiled.spec, jax.random.key(0), CONFIG.replay_capacity)
    step = 0
    while not loop_lib.ready(compiled.spec, state):
        state, _ = compiled.collect(state, jax.random.key(step := step + 1))
    return compiled, state


def _numpy(tree: dict) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in tree.items()}


def _differing(ours: dict, theirs: dict) -> dict[str, float]:
    assert set(ours) == set(theirs)
    return {k: float(np.abs(ours[k].astype(np.float64) - theirs[k]).max()) for k in ours
            if not np.array_equal(ours[k], theirs[k])}


def test_update_in_the_loop_equals_the_adapter_train_step(filled):
    compiled, state = filled
    spec = compiled.spec
    # Mid-warmup: at the initial step the official learning rate is exactly 0.
    variables = mid_warmup(_numpy(state.agent))
    state = loop_lib.own_buffers(state.replace(agent=jax.tree.map(jnp.asarray, variables)))
    key = jax.random.key(7)
    batch, train_key = loop_lib.replayed_batch(spec, state.replay, key)
    official = spec.learner.agent
    expected, _ = official.train_step(_numpy(batch), seed=jax.random.key_data(train_key),
                                      deterministic=False, variables=variables)
    new_state, metrics = compiled.update(state, key)
    ours = _numpy(new_state.agent)
    assert _differing(ours, expected) == {}
    assert np.isfinite(float(metrics["loss"]))
    # Not vacuous: the update moved every trained module, and the seed reaches it.
    moved = {k.split("/")[0] for k in variables if not np.array_equal(ours[k], variables[k])}
    assert {"enc", "dyn", "dec", "rew", "con", "pol", "val", "slowval", "opt"} <= moved
    other, _ = official.train_step(_numpy(batch), seed=jax.random.key_data(jax.random.key(8)),
                                   deterministic=False, variables=variables)
    assert _differing(other, expected)


def _jsonl(logdir) -> list[dict]:
    return [json.loads(line) for line in (logdir / "metrics.jsonl").read_text().splitlines()]


def test_reimpl_train_runs_the_official_learner_and_resumes_it(filled, tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    last = train(dataclasses.replace(CONFIG, logdir=str(full)))
    assert [x["env_steps"] for x in _jsonl(full)] == [16, 32]
    assert np.isfinite(last["loss"]) and last["updates"] > 0 and "opt/grad_norm" in last
    train(dataclasses.replace(CONFIG, env_steps=16, logdir=str(part)))
    train(dataclasses.replace(CONFIG, logdir=str(part), resume=True))
    assert _jsonl(part) == _jsonl(full)
    assert (part / "checkpoint.msgpack").read_bytes() == (full / "checkpoint.msgpack").read_bytes()
    with pytest.raises(RunRefused, match=f"is a run with --learner '{OFFICIAL}' \\(this run: "
                                         "'reimpl.train.learner:reimpl_learner'\\)"):
        train(dataclasses.replace(CONFIG, logdir=str(full), resume=True, env_steps=48,
                                  learner="reimpl.train.learner:reimpl_learner"))


@pytest.mark.parametrize("name", ["defaults", "debug", "size1m", "size12m"])
def test_typed_config_states_the_official_presets(name):
    """The reimpl's presets, stated as official keys, are the official presets (report_length
    aside: the official debug preset shortens the report, which no train step reads)."""
    stated = make_config("defaults", official_overrides(preset(name))).flat
    official = make_config(name).flat
    assert {k: (stated[k], v) for k, v in official.items()
            if stated[k] != v and k != "report_length"} == {}


@pytest.mark.parametrize("agent, message", [
    ("compute_dtype=bfloat16", "no setting for compute_dtype='bfloat16' \\(official: 'float32'\\)"),
    ("dec.symlog=false", "no setting for dec.simple.symlog=False \\(official: True\\)"),
], ids=["compute-dtype", "decoder-symlog"])
def test_typed_config_refuses_what_the_official_agent_cannot_follow(agent, message):
    with pytest.raises(ValueError, match=message):
        official_overrides(override(preset("debug"), agent))
