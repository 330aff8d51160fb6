"""A checkpoint of any learner as a `reimpl.train.evaluate` contestant: the learner's own policy
(`policy_step`, sampling) from the state the checkpoint holds, run on the episodes
`reimpl.train.evaluate.evaluate` selects (each env's first episodes, round by round, from a seed).
"""

from __future__ import annotations

import functools
from pathlib import Path

import jax
from flax import serialization

from reimpl.train import checkpoint as checkpoint_lib
from reimpl.train import evaluate as evaluate_lib
from reimpl.train import learner as learner_lib
from reimpl.train.run import make_spec
from reimpl.train.train_config import TrainConfig


def learner_policy(learner: learner_lib.Learner) -> evaluate_lib.Policy:
    def act(state, carry, obs, key):
        carry, action, _ = learner.policy_step(state, carry, obs, key)
        return carry, action["action"]

    return act


def _setup(config: TrainConfig) -> TrainConfig:
    """The fields the learner and the env depend on: runs that differ in seed, logdir or
    schedule share one learner and one compiled rollout."""
    return TrainConfig(env=config.env, max_episode_steps=config.max_episode_steps,
                       preset=config.preset, agent=config.agent, learner=config.learner)


@functools.cache  # one compilation per setup in a process
def _chunk(setup: TrainConfig):
    spec = make_spec(setup).spec
    return jax.jit(functools.partial(evaluate_lib.rollout_chunk, spec.env,
                                     learner_policy(spec.learner), evaluate_lib.CHUNK))


def contestant(config: TrainConfig, path: Path) -> tuple[evaluate_lib.Contestant, int]:
    """(the policy of the checkpoint at `path`, written by a run of `config`; its env steps)."""
    spec = make_spec(_setup(config)).spec
    raw = checkpoint_lib.read(path)
    template = jax.eval_shape(spec.learner.init, jax.random.key(0))
    state = serialization.from_state_dict(template, raw["state"]["agent"])
    return evaluate_lib.Contestant(
        spec.env, _chunk(_setup(config)), state, spec.learner.initial_policy_carry, str(path),
        "sample", config.max_episode_steps), int(raw["state"]["env_steps"])
