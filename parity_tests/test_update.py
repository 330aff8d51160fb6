"""One optimizer update at its own scale (parity_tests/updates.py): the change of every trained
parameter against the official update, from an optimizer state that has seen training (moments
at the gradient's scale, past warmup: the whole rule shows) and from the shared variables'
fresh optimizer state half-way through warmup (zero moments: the first update, where bias
correction and warmup weigh most; at step 0 the official learning rate is exactly 0). Judged
beyond the official step's own spread from one-ulp twins of the start (noise_floor.py): an
optimizer normalises a rounding-sized gradient into a full-sized update."""

from __future__ import annotations

import pytest

from parity_tests import noise_floor, operating_point, updates
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
    starts = [start, *noise_floor.twins(start, seed=0)]
    official = [{k: v for k, v in official_agent.train_step(batch, variables=s)[0].items()
                 if is_trained(k)} for s in starts]
    ours = fn(obs_space, act_space, preset_name, start, batch)
    judgement = updates.judge(ours, official, starts)
    parity.verdict(check, "DIFF", description, judgement.agrees,
                   f"the update differs by {judgement.summary()}",
                   f"worst {judgement.summary()}", margin=judgement.ratio,
                   form="" if judgement.agrees else updates.signal(ours, official[0], start))
