"""The official DreamerV3 agent as a learner of the reimpl's training loop.

`python -m reimpl.train --learner reference_adapter.learner:official_learner` runs the official
`dreamerv3.agent.Agent` in the reimpl's compiled Craftax loop: its own `Agent.policy`
(sampling) inside the collect scan and its own `Agent.train` inside the update program, as pure
functions through ninjax `nj.pure`, on batches from the reimpl's replay. The same envs, seeds,
replay and schedule as the reimpl learner, so the agent code is the only difference. The
protocol is reimpl/train/learner.py's, met by duck typing: this side imports nothing of the reimpl.

The state is the flat dict of every official variable (`dyn/dynin0/kernel`, `opt/step`,
`retnorm/lo`, ...), as `OfficialAgent.train_step` takes and returns it. Each call's `nj.seed()`
stream starts from the given key's raw data (uint32[2]), as `OfficialAgent` seeds from an int.

What the loop does for both learners and the official driver does not: every replayed
sequence starts from the RSSM state its policy stored (`consec` 0, reimpl/train/replay.py), and the
train step's `outs['replay']` (the recomputed entries) is not written back into the replay.
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass

import jax
import numpy as np

from .agent import OfficialAgent
from .typed_config import official_overrides


def _seed(key: jax.Array) -> jax.Array:
    return jax.random.key_data(key)


def _train(model, data):
    carry = model.init_train(data["is_first"].shape[0])
    _, _, metrics = model.train(carry, data)
    return metrics


@dataclass(frozen=True)
class OfficialLearner:
    agent: OfficialAgent
    openloop = None  # the official report's video is not produced here

    @property
    def batch_size(self) -> int:
        return self.agent.config.batch_size

    @property
    def batch_length(self) -> int:
        return self.agent.config.batch_length

    @property
    def replay_context(self) -> int:
        return self.agent.config.replay_context

    @property
    def _nj(self):
        return self.agent.official.ninjax

    @functools.cached_property
    def _init(self):
        return self._nj.init(lambda data: _train(self.agent.model, data))  # jitted by nj.init

    def init(self, key: jax.Array) -> dict[str, jax.Array]:
        """Every official variable with the official initialisers (`nj.init` of Agent.train on
        an example batch, as OfficialAgent.init)."""
        batch = self.agent.example_batch(1, self.replay_context + 2)
        # The official optimizer prints its parameter count when it creates its state.
        with contextlib.redirect_stdout(io.StringIO()):
            return self._init({}, batch, seed=_seed(key))

    def initial_policy_carry(self, num_envs: int):
        """Agent.init_policy: (enc, dyn, dec carries, previous action), all zeros."""
        _, carry = self._nj.pure(self.agent.model.init_policy)({}, num_envs)
        return carry

    def policy_step(self, state, carry, obs, key: jax.Array):
        """Agent.policy, sampling; entries are its replay entries (`dyn/deter`, `dyn/stoch`
        with replay_context), without its `finite` diagnostics."""
        policy = self._nj.pure(self.agent.model.policy)
        _, (carry, action, out) = policy(state, carry, obs, seed=_seed(key))
        action = {k: v.astype(np.dtype(self.agent.act_space[k].dtype))
                  for k, v in action.items()}
        entries = {k: v for k, v in out.items() if k != "finite"}
        return carry, action, entries

    def train_step(self, state, batch, key: jax.Array):
        """Agent.train (losses, optimizer, slow critic) from a fresh train carry; the metrics
        are the official ones plus `loss` (the optimizer's total, `opt/loss`)."""
        train = self._nj.pure(lambda data: _train(self.agent.model, data))
        state, metrics = train(state, batch, seed=_seed(key))
        return state, {**metrics, "loss": metrics["opt/loss"]}


def official_learner(obs_space: Mapping, act_space: Mapping, config) -> OfficialLearner:
    """The official agent for these spaces with the hyperparameters of `config`, a typed agent
    config (reimpl/config.py's layout; see typed_config)."""
    return OfficialLearner(OfficialAgent(obs_space, act_space, "defaults",
                                         official_overrides(config)))
