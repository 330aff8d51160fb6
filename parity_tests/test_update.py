"""One optimizer update at its own scale (parity_tests/updates.py): the change of every trained
parameter, from an optimizer state that has seen training, against the official update."""

from __future__ import annotations

import pytest

from parity_tests import updates
from reference_adapter.agent import is_trained

DESCRIPTION = ("one update (new - old) of every trained parameter from a trained optimizer "
               "state, relative to the leaf's largest update")


@pytest.fixture(scope="module")
def trained_variables(official_agent, shared_variables, batch):
    gradient = updates.total_gradient(official_agent, batch, shared_variables)
    return updates.trained_optimizer(shared_variables, gradient)


def test_agent_update_at_its_own_scale(target, parity, official_agent, preset_name,
                                       trained_variables, obs_space, act_space, batch):
    check = "agent/train_step/update"
    fn = parity.piece(target, "train_step", check, "DIFF", DESCRIPTION)
    reference, _ = official_agent.train_step(batch, variables=trained_variables)
    ours = fn(obs_space, act_space, preset_name, trained_variables, batch)
    trained = {k: v for k, v in reference.items() if is_trained(k)}
    ratio, where = updates.worst(updates.update_ratios(ours, trained, trained_variables))
    parity.verdict(check, "DIFF", DESCRIPTION, ratio <= 1,
                   f"the update differs by {ratio:.3g}x the allowed error at {where}",
                   f"worst {ratio:.2g} of the allowed error, at {where}")
