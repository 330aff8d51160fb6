"""World-model loss terms from network outputs: no shared weights, so any architecture can take it.

Both sides get the same head outputs (parity_tests/network_outputs.py: decoder outputs before
their output transform, reward and continuation logits, posterior and prior logits) and the same
replayed steps, and return every term per (B, T) element and the gradient of each summed term
with respect to each output. This is where an output transform (the decoder's sigmoid), a target
(1 - is_terminal with the contdisc factor, image / 255) or the alignment of head and replayed
step departs. A gradient that reaches an output the official code stops (dyn into the posterior,
rep into the prior, one head's loss into another head) is a `gradient_flow` [BUG].
A term that differs only through the target's own building block (its two-hot loss for rew,
its KL for dyn and rep) follows from that block's check (parity_tests/stages.py).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from parity_tests import (
    compare,
    network_outputs,
    piece_results,
    reduced_losses,
    settings_explained,
    stages,
    tolerances,
)
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
PIECE = "world_model_terms"
TOLERANCE_OF = {term: tolerance for term, (_, tolerance, _) in TERMS.items()}
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
    if piece is None:
        return None
    shape = wm_inputs["reward"].shape
    return piece_results.checked(
        piece_results.guarded(piece, "world_model_terms")(preset_name, wm_inputs),
        "world_model_terms", reduced_losses.shapes(
            target, PIECE, {term: (shape, "[B, T]") for term in TERMS}))


@pytest.mark.parametrize("term", sorted(TERMS), ids=sorted(TERMS))
def test_world_model_term(term, target, parity, official_terms, target_terms, wm_inputs,
                         official_agent):
    tag, tolerance, description = TERMS[term]
    check = f"outputs/world_model/{term}"
    parity.piece(target, "world_model_terms", check, tag, description)
    ours = parity.piece(SimpleNamespace(**target_terms), term, check, tag, description,
                        within="world_model_terms")
    reduce = reduced_losses.reduced_stage(target, PIECE, term, official_terms[term])
    parity.check(check, tag, reduced_losses.described(
                     target, PIECE, term, description + ", per (B, T), from network outputs"),
                 ours, reduce(official_terms[term]), tolerance,
                 follows=reduced_losses.attribution(
                     lambda: _attribution(term, target, target_terms, official_terms,
                                          wm_inputs, official_agent), reduce),
                 setting=lambda: settings_explained.explain(
                     "world_model", term, ours, target, target_terms, official_terms, wm_inputs,
                     official_agent.config, None, TOLERANCE_OF, reduce))


def _attribution(term, target, target_terms, official_terms, wm_inputs, official_agent,
                 gradient=False):
    return stages.attribute("world_model", term, target, target_terms, official_terms,
                            wm_inputs, official_agent.config, None, TOLERANCE_OF, gradient)


GRADIENTS = [(term, output) for term in TERMS for output in world_model_terms.OUTPUTS]


@pytest.mark.parametrize("term,output", GRADIENTS, ids=[f"{t}-{o}" for t, o in GRADIENTS])
def test_world_model_term_gradient(term, output, target, parity, official_terms,
                                   target_terms, wm_inputs, official_agent):
    flows = FLOWS[term] == output
    check = (f"outputs/world_model/grad/{term}/{output}" if flows
             else f"gradient_flow/world_model/{term}/{output}")
    tag = TERMS[term][0] if flows else "BUG"
    summed = reduced_losses.gradient_of(target, PIECE, term)
    description = (f"d {summed}({term}) / d {output}" if flows else
                   f"no gradient from the {term} term into {output} (official stop-gradient "
                   f"or another head)")
    parity.piece(target, "world_model_terms", check, tag, description)
    grads = parity.piece(SimpleNamespace(**target_terms), "grads", check, tag, description,
                         within="world_model_terms")
    of_term = parity.piece(SimpleNamespace(**grads), term, check, tag, description,
                           within="world_model_terms")
    scale = reduced_losses.reduced_stage(target, PIECE, term, official_terms[term],
                                         gradient=True)
    follows = None
    if flows:
        follows = reduced_losses.attribution(
            lambda: _attribution(term, target, target_terms, official_terms, wm_inputs,
                                 official_agent, gradient=True), scale)
    parity.check(check, tag, description, of_term[output],
                 scale(official_terms["grads"][term][output]),
                 "logit-gradient", follows=follows)


@pytest.mark.parametrize("term", sorted(stages.WORLD_MODEL_FLOWS))
def test_stage_arithmetic_reproduces_the_official_term(term, official_terms, wm_inputs,
                                                       official_agent):
    """The attribution's arithmetic on the official blocks gives the official term and its
    gradient (parity_tests/stages.py)."""
    config = official_agent.config
    value = stages.recompute("world_model", term, {}, wm_inputs, stages.OFFICIAL, config)
    grad = stages.recompute_grad("world_model", term, {}, wm_inputs, stages.OFFICIAL, config)
    output = stages.WORLD_MODEL_FLOWS[term]
    for name, mine, theirs, tolerance in (
            ("term", value, official_terms[term], TERMS[term][1]),
            ("gradient", grad, official_terms["grads"][term][output], "logit-gradient")):
        comparison = compare.compare(mine, theirs, tolerances.get(tolerance))
        assert comparison.ok, f"stages {term} {name} is not the official one: " + (
            comparison.summary())
