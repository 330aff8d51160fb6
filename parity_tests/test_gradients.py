"""Gradients of every loss term with respect to every parameter, on shared weights.

Each term's mean is differentiated on both sides (deterministic mode, straight-through
gradients intact); per parameter, the error is measured relative to that parameter's largest
gradient entry, and the report names the worst parameter and element.
"""

from __future__ import annotations

import numpy as np
import pytest

WORLD_MODEL_MODULES = ("enc", "dyn", "dec", "rew", "con")
TERMS = {
    "image": "DIFF", "rew": "DIFF", "con": "DIFF", "dyn": "CRITDIFF", "rep": "CRITDIFF",
}


@pytest.fixture(scope="module")
def official_grads(official_agent, shared_variables, batch):
    return official_agent.loss_grads(batch, seed=0, variables=shared_variables)


@pytest.fixture(scope="module")
def target_world_model_grads(target, shared_params, obs_space, act_space, preset_name,
                             batch):
    fn = getattr(target, "world_model_grads", None)
    if fn is None:
        return None
    grads = fn(obs_space, act_space, preset_name, shared_params, batch)
    return {term: {k: np.asarray(v) for k, v in per.items()} for term, per in grads.items()}


@pytest.mark.parametrize("term", sorted(TERMS), ids=sorted(TERMS))
def test_gradients_world_model_term(term, target, parity, official_grads,
                                    target_world_model_grads):
    check = f"gradients/world_model/{term}"
    description = f"d mean({term}) / d every world-model parameter"
    parity.piece(target, "world_model_grads", check, TERMS[term], description)
    ref = {k: v for k, v in official_grads[term].items()
           if k.split("/", 1)[0] in WORLD_MODEL_MODULES}
    parity.check(check, TERMS[term], description, target_world_model_grads[term], ref,
                 "gradient")
