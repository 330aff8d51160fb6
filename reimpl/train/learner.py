"""The learner the training loop drives: the policy that acts in the envs and the train step
on replayed batches. `reimpl.train.loop` takes one as an argument, so the same loop (envs, replay,
schedule, logs, checkpoints) runs any agent that meets this protocol.

`reimpl_learner` (the default) is this package's agent. `python -m reimpl.train --learner
MODULE:FACTORY` names another by import path, e.g. the official agent through the reference
adapter (`reference_adapter.learner:official_learner`), so reimpl/ never imports it.

A learner is a set of pure, jit-traceable functions: the loop traces `policy_step` into its
collect scan and `train_step` into its update program. Its state is any pytree (the reimpl's
`AgentState`, the official agent's flat variables); the loop holds it in `LoopState.agent`,
donates it to the compiled programs and checkpoints it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jax

from .. import agent as agent_lib
from ..config import AgentConfig
from ..spaces import Space
from . import openloop as openloop_lib

DEFAULT = "reimpl.train.learner:reimpl_learner"


class Learner(Protocol):
    batch_size: int  # sequences per replayed batch
    batch_length: int  # trained steps per sequence
    replay_context: int  # extra leading steps per sequence that only start the world model
    # (state, batch, key, context) -> {image key: uint8 [B, 3, T, H, W, C]} (reimpl.train.openloop's
    # layout), or None: the learner has no open-loop report.
    openloop: Callable | None

    def init(self, key: jax.Array) -> Any:
        """The initial state (parameters, optimizer state, normalisers, counters)."""

    def initial_policy_carry(self, num_envs: int) -> Any:
        """The policy's carry before the first step of `num_envs` envs."""

    def policy_step(self, state, carry, obs: dict[str, jax.Array], key: jax.Array):
        """obs {key: [N, ...]} -> (carry, action {key: [N, ...]}, entries {key: [N, ...]});
        the replay stores obs, action and entries of every step (entries: what the train step
        reads beyond obs and action, e.g. the RSSM state for the replay context)."""

    def train_step(self, state, batch: dict[str, jax.Array], key: jax.Array):
        """batch {key: [B, replay_context + batch_length, ...]}, as `reimpl.train.replay.sample`
        returns it -> (state, metrics {name: scalar}); metrics hold the total `loss`."""


# (obs_space, act_space, agent config) -> Learner
Factory = Callable[[Mapping[str, Space], Mapping[str, Space], AgentConfig], Learner]


@dataclass(frozen=True)
class ReimplLearner:
    """reimpl.agent as a learner; its state is `AgentState`."""

    agent: agent_lib.Agent

    @property
    def batch_size(self) -> int:
        return self.agent.config.batch_size

    @property
    def batch_length(self) -> int:
        return self.agent.config.batch_length

    @property
    def replay_context(self) -> int:
        return self.agent.config.replay_context

    def init(self, key: jax.Array) -> agent_lib.AgentState:
        return agent_lib.init(self.agent, key)

    def initial_policy_carry(self, num_envs: int):
        return agent_lib.initial_policy_carry(self.agent, num_envs)

    def policy_step(self, state: agent_lib.AgentState, carry, obs, key: jax.Array):
        return agent_lib.policy_step(self.agent, state.params, carry, obs, key)

    def train_step(self, state: agent_lib.AgentState, batch, key: jax.Array):
        return agent_lib.train_step(self.agent, state, batch, key)

    def openloop(self, state: agent_lib.AgentState, batch, key: jax.Array, context: int):
        return openloop_lib.openloop(self.agent, state.params, batch, key, context)


def reimpl_learner(obs_space: Mapping[str, Space], act_space: Mapping[str, Space],
                   config: AgentConfig) -> ReimplLearner:
    return ReimplLearner(agent_lib.Agent.build(obs_space, act_space, config))


class LearnerUnavailable(ValueError):
    """A learner that cannot be loaded or built; the message names it and why."""


def load_factory(name: str) -> Factory:
    """The factory `name` ('MODULE:FACTORY') points to, imported; raises LearnerUnavailable."""
    module_name, sep, attribute = name.partition(":")
    if not (sep and module_name and attribute):
        raise LearnerUnavailable(f"{name!r} is not MODULE:FACTORY (the default is {DEFAULT})")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # whatever importing the named module raises
        raise LearnerUnavailable(f"{name!r}: importing {module_name} failed "
                                 f"({type(error).__name__}: {error})") from error
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise LearnerUnavailable(f"{name!r}: {module_name} has no function {attribute!r}")
    return factory


def build(name: str, obs_space: Mapping[str, Space], act_space: Mapping[str, Space],
          config: AgentConfig) -> Learner:
    """The learner `name` builds for these spaces and config; a config its factory refuses
    (ValueError) raises LearnerUnavailable."""
    factory = load_factory(name)
    try:
        return factory(obs_space, act_space, config)
    except ValueError as error:
        raise LearnerUnavailable(f"{name!r} does not build for this agent config: "
                                 f"{error}") from error
