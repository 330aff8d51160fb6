"""World-model loss terms from network outputs: no shared weights, so any architecture can take it.

Both sides get the same head outputs (parity_tests/network_outputs.py: decoder outputs before
their output transform, reward and continuation logits, posterior and prior logits) and the same
replayed steps, and return every term per (B, T) element and the gradient of each summed term
with respect to each output. This is where an output transform (the decoder's sigmoid), a target
(1 - is_terminal with the contdisc factor, image / 255) or the alignment of head and replayed
step departs. A gradient that reaches an output the official code stops (dyn into the posterior,
rep into the prior, one head's loss into another head) is a `gradient_flow` [BUG].
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from parity_tests import network_outputs
from reference_adapter import world_model_terms

TERMS = {  # term: (tag, tolerance, description)
    "image": ("DIFF", "forward", "image loss from the decoder output: sigmoid, squared error "
                                 "against image / 255 summed over pixels"),
    "rew": ("DIFF", "elementwise", "reward two-hot loss against the replayed reward[t]"),
    "con": ("DIFF", "elementwise", "continuation loss against (1 - is_terminal[t]) x (1 - "
                                   "1/horizon)"),
    "dyn": ("CRITDIFF", "elementwise", "dynamics KL (prior towards posterior) after free nats"),
    "rep": ("CRITDIFF", "elementwise", "representation KL after free nats"),
}
FLOWS = {"image": "image_logits", "rew": "reward_logits", "con": "con_logit",
         "dyn": "prior_logits", "rep": "post_logits"}


@pytest.fixture(scope="module")
def wm_inputs(official_agent, batch):
    rssm = official_agent.config.dyn.rssm
    return network_outputs.world_model(batch, rssm.stoch, rssm.classes)


@pytest.fixture(scope="module")
def official_terms(official_agent, wm_inputs):
    return world_model_terms.world_model_terms(official_agent, wm_inputs)


@pytest.fixture(scope="module")
def target_terms(target, preset_name, wm_inputs):
    piece = getattr(target, "world_model_terms", None)
    return piece and piece(preset_name, wm_inputs)


@pytest.mark.parametrize("term", sorted(TERMS), ids=sorted(TERMS))
def test_world_model_term(term, target, parity, official_terms, target_terms):
    tag, tolerance, description = TERMS[term]
    check = f"outputs/world_model/{term}"
    parity.piece(target, "world_model_terms", check, tag, description)
    ours = parity.piece(SimpleNamespace(**target_terms), term, check, tag, description)
    parity.check(check, tag, description + ", per (B, T), from network outputs", ours,
                 official_terms[term], tolerance)


GRADIENTS = [(term, output) for term in TERMS for output in world_model_terms.OUTPUTS]


@pytest.mark.parametrize("term,output", GRADIENTS, ids=[f"{t}-{o}" for t, o in GRADIENTS])
def test_world_model_term_gradient(term, output, target, parity, official_terms,
                                   target_terms):
    flows = FLOWS[term] == output
    check = (f"outputs/world_model/grad/{term}/{output}" if flows
             else f"gradient_flow/world_model/{term}/{output}")
    tag = TERMS[term][0] if flows else "BUG"
    description = (f"d sum({term}) / d {output}" if flows else
                   f"no gradient from the {term} term into {output} (official stop-gradient "
                   f"or another head)")
    parity.piece(target, "world_model_terms", check, tag, description)
    grads = parity.piece(SimpleNamespace(**target_terms), "grads", check, tag, description)
    parity.check(check, tag, description, grads[term][output],
                 official_terms["grads"][term][output], "logit-gradient")
