"""The agent with vector observations (symlog-encoded MLP encoder, symlog-MSE decoder head)
and a continuous action (bounded normal policy): every loss term per (B, T) element."""

from __future__ import annotations

import numpy as np
import pytest

from parity_tests import operating_point
from reimpl.spaces import Space, vector_obs_space

TERMS = ("vector", "rew", "con", "dyn", "rep", "policy", "value", "repval")


@pytest.fixture(scope="module")
def spaces():
    return vector_obs_space(7), {"action": Space((3,), "float32")}


@pytest.fixture(scope="module")
def vector_agent(official, spaces):
    from reference_adapter import OfficialAgent

    agent = OfficialAgent(*spaces, preset=operating_point.BASE_PRESET,
                          overrides=operating_point.OVERRIDES)
    agent.init(seed=0)
    return agent


@pytest.fixture(scope="module")
def vector_variables(vector_agent):
    params = operating_point.shared_params(vector_agent.get_params(), seed=2)
    return operating_point.shared_variables(vector_agent.variables, params)


@pytest.fixture(scope="module")
def vector_batch(vector_agent):
    batch = vector_agent.example_batch(4, 10, seed=3)
    batch["vector"] *= 100  # symlog matters only away from zero
    return batch


@pytest.fixture(scope="module")
def official_vector_losses(vector_agent, vector_variables, vector_batch):
    return vector_agent.losses(vector_batch, variables=vector_variables).losses


@pytest.mark.parametrize("term", TERMS, ids=TERMS)
def test_vector_obs_loss(term, target, parity, spaces, preset_name, vector_variables,
                         vector_batch, official_vector_losses):
    check = f"vector_obs/loss/{term}"
    description = f"{term} loss per (B, T), vector observations, continuous action"
    tag = "CRITDIFF" if term in ("dyn", "rep", "policy", "value", "repval") else "DIFF"
    fn = parity.piece(target, "agent_losses", check, tag, description)
    ours = np.asarray(fn(*spaces, preset_name, vector_variables, vector_batch)[term])
    parity.check(check, tag, description, ours, official_vector_losses[term], "forward")
