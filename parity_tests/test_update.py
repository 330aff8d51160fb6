"""One optimizer update at its own scale (parity_tests/updates.py): the change of every trained
parameter against the official update, from an optimizer state that has seen training (moments
at the gradient's scale, past warmup: the whole rule shows) and from the shared variables'
fresh optimizer state half-way through warmup (zero moments: the first update, where bias
correction and warmup weigh most; at step 0 the official learning rate is exactly 0)."""

from __future__ import annotations

import pytest

from parity_tests import operating_point, updates
from reference_adapter.agent import is_trained

DESCRIPTIONS = {
    "agent/train_step/update": "one update (new - old) of every trained parameter from a "
                               "trained optimizer state, relative to the leaf's largest update",
    "agent/train_step/update-from-init": "one update (new - old) of every trained parameter "
                                         "from zero optimizer moments half-way through "
                                         "warmup, relative to the leaf's largest update",
}


@pytest.fixture(scope="module")
def trained_variables(official_agent, shared_variables, batch):
    gradient = updates.total_gradient(official_agent, batch, shared_variables)
    return updates.trained_optimizer(shared_variables, gradient)


@pytest.mark.parametrize("check", sorted(DESCRIPTIONS))
def test_agent_update_at_its_own_scale(check, target, parity, official_agent, preset_name,
                                       trained_variables, shared_variables, obs_space,
                                       act_space, batch):
    description = DESCRIPTIONS[check]
    fn = parity.piece(target, "train_step", check, "DIFF", description)
    start = (operating_point.mid_warmup(shared_variables) if check.endswith("from-init")
             else trained_variables)
    reference, _ = official_agent.train_step(batch, variables=start)
    ours = fn(obs_space, act_space, preset_name, start, batch)
    trained = {k: v for k, v in reference.items() if is_trained(k)}
    ratio, where = updates.worst(updates.update_ratios(ours, trained, start))
    parity.verdict(check, "DIFF", description, ratio <= 1,
                   f"the update differs by {ratio:.3g}x the allowed error at {where}",
                   f"worst {ratio:.2g} of the allowed error, at {where}")
