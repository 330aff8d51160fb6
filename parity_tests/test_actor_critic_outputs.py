"""The actor-critic from network outputs: no shared weights, so any architecture can take it.

Both sides get the same head outputs (parity_tests/network_outputs.py) and the same return
normaliser state; each returns its losses per element, the quantities between outputs and
losses, and the gradient of each summed loss with respect to each output. One check per
quantity, so a finding says where the target departs: the trajectory weight (cumprod of
disc * con), the lambda return, the normaliser, the advantage, the value target, or only the
loss. Gradients with respect to outputs the official code stops (`sg`) are `gradient_flow`
checks: a non-zero there is a gradient that leaks, a [BUG] whatever the values.

A quantity that differs only because an earlier one does (the advantage of a target whose
returns differ) "follows from" that one: the official arithmetic of its stage, applied to the
target's own earlier quantities and building blocks, gives the target's value
(parity_tests/stages.py), so the departure shows once, where it enters.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import pytest

from parity_tests import (
    compare,
    network_outputs,
    operating_point,
    piece_results,
    reduced_losses,
    settings_explained,
    stages,
    tolerances,
)
from reference_adapter import actor_critic

IMAG = {  # quantity: (tolerance, description)
    "weight": ("recurrence", "trajectory weight cumprod(disc * con) / disc, [N, H]"),
    "ret": ("recurrence", "lambda return of imagined rewards and continuations, [N, H]"),
    "retnorm": ("elementwise", "return normaliser state {lo, hi} after the update"),
    "adv": ("recurrence", "normalised advantage (ret - value) / scale, [N, H]"),
    "value_target": ("recurrence", "critic target (normalised return), [N, H]"),
    "policy": ("forward", "policy loss per element: weighted, advantage, entropy bonus"),
    "value": ("forward", "critic loss per element: two-hot on returns plus slowreg"),
    # Small-coefficient terms on their own (the loss minus the loss without them): the entropy
    # bonus is ~3e-3 of the policy loss, under what the combined loss check resolves well.
    "entropy_term": ("elementwise", "entropy bonus part of the policy loss, [N, H]"),
    "slowreg_term": ("elementwise", "slow-critic regulariser part of the critic loss, [N, H]"),
}
REPL = {
    "weight": ("exact", "replay value loss weight (1 - is_last), [B, K-1]"),
    "ret": ("recurrence", "lambda return of replayed rewards bootstrapped from imagination"),
    "repval": ("forward", "replay value loss per element"),
    "slowreg_term": ("elementwise", "slow-critic regulariser part of the replay value loss"),
}
# Outputs each loss reaches in the official code; every other (loss, output) pair is stopped.
FLOWS = {
    "imag": {"policy": ("policy_logits",), "value": ("value_logits",)},
    "repl": {"repval": ("value_logits",)},
}
DIFFERENTIABLE = {"imag": actor_critic.IMAG_DIFFERENTIABLE,
                  "repl": actor_critic.REPL_DIFFERENTIABLE}
TRAJECTORIES = 12


@pytest.fixture(scope="module")
def imag_inputs(act_space):
    return network_outputs.imagination(act_space["action"].classes, TRAJECTORIES)


@pytest.fixture(scope="module")
def repl_inputs(batch):
    return network_outputs.replay({k: v[:, 1:] for k, v in batch.items()})  # replay_context 1


@pytest.fixture(scope="module")
def official_results(official_agent, shared_variables, imag_inputs, repl_inputs):
    return {
        "imag": actor_critic.imagination_loss(official_agent, imag_inputs, shared_variables),
        "repl": actor_critic.replay_loss(official_agent, repl_inputs, shared_variables),
    }


def _shapes(inputs, quantities, written):
    """The shape of every per-step quantity: the steps before the last of the inputs."""
    steps = inputs["reward"].shape
    shape = (steps[0], steps[1] - 1)
    return {q: (shape, written) for q in quantities if q != "retnorm"}


@pytest.fixture(scope="module")
def target_results(target, preset_name, imag_inputs, repl_inputs):
    """part -> the target's result, computed when a check first asks (a malformed replay
    result fails the replay checks only)."""
    retnorm = operating_point.retnorm_state()

    @functools.cache
    def result(part):
        if part == "imag":
            piece, args, table, written = ("imagination_loss", (imag_inputs, retnorm), IMAG,
                                           "[N, H]")
        else:
            piece, args, table, written = "replay_loss", (repl_inputs,), REPL, "[B, K-1]"
        fn = getattr(target, piece, None)
        if fn is None:
            return None
        return piece_results.checked(piece_results.guarded(fn, piece)(preset_name, *args),
                                     piece, reduced_losses.shapes(
                                         target, piece, _shapes(args[0], table, written)))

    return result


PIECES = {"imag": "imagination_loss", "repl": "replay_loss"}
QUANTITIES = [("imag", q) for q in IMAG] + [("repl", q) for q in REPL]


@pytest.fixture(scope="module")
def stage_inputs(imag_inputs, repl_inputs, official_agent):
    return {"imag": imag_inputs, "repl": repl_inputs, "config": official_agent.config,
            "before": operating_point.retnorm_state()}


def _tolerances(part):
    return {q: t for q, (t, _) in (IMAG if part == "imag" else REPL).items()}


def _attribution(part, quantity, target, target_results, official_results, stage_inputs,
                 gradient=False):
    return stages.attribute(part, quantity, target, target_results(part),
                            official_results[part], stage_inputs[part], stage_inputs["config"],
                            stage_inputs["before"], _tolerances(part), gradient)


@pytest.mark.parametrize("part,quantity", QUANTITIES, ids=[f"{p}-{q}" for p, q in QUANTITIES])
def test_actor_critic_quantity(part, quantity, target, parity, official_results,
                               target_results, stage_inputs):
    tolerance, description = (IMAG if part == "imag" else REPL)[quantity]
    check = f"outputs/{part}/{quantity}"
    parity.piece(target, PIECES[part], check, "CRITDIFF", description)
    provided = SimpleNamespace(**target_results(part))
    ours = parity.piece(provided, quantity, check, "CRITDIFF", description,
                        within=PIECES[part])
    reduce = reduced_losses.reduced_stage(target, PIECES[part], quantity,
                                          official_results[part][quantity])
    parity.check(check, "CRITDIFF", reduced_losses.described(
                     target, PIECES[part], quantity, description + " (from network outputs)"),
                 ours, reduce(official_results[part][quantity]), tolerance,
                 follows=reduced_losses.attribution(
                     lambda: _attribution(part, quantity, target, target_results,
                                          official_results, stage_inputs), reduce),
                 setting=lambda: settings_explained.explain(
                     part, quantity, ours, target, target_results(part), official_results[part],
                     stage_inputs[part], stage_inputs["config"], stage_inputs["before"],
                     _tolerances(part), reduce))


STAGES = [(part, q) for part in ("imag", "repl") for q in stages.upstream(part)]


@pytest.mark.parametrize("part,quantity", STAGES, ids=[f"{p}-{q}" for p, q in STAGES])
def test_stage_arithmetic_reproduces_the_official_quantity(part, quantity, official_results,
                                                           stage_inputs):
    """The attribution is only as good as its arithmetic: from the official agent's own earlier
    quantities and blocks it must give the official quantity (parity_tests/stages.py)."""
    tolerance = (IMAG if part == "imag" else REPL)[quantity][0]
    recomputed = stages.recompute(part, quantity, official_results[part], stage_inputs[part],
                                  stages.OFFICIAL, stage_inputs["config"], stage_inputs["before"])
    comparison = compare.compare(recomputed, official_results[part][quantity],
                                 tolerances.get(tolerance))
    assert comparison.ok, f"stages.{part}/{quantity} is not the official arithmetic: " + (
        comparison.summary())


GRADIENTS = [(part, loss, output) for part, flows in FLOWS.items() for loss in flows
             for output in DIFFERENTIABLE[part]]


@pytest.mark.parametrize("part,loss,output", GRADIENTS,
                         ids=[f"{p}-{loss}-{o}" for p, loss, o in GRADIENTS])
def test_actor_critic_gradient(part, loss, output, target, parity, official_results,
                               target_results, stage_inputs):
    flows = output in FLOWS[part][loss]
    check = (f"outputs/{part}/grad/{loss}/{output}" if flows
             else f"gradient_flow/{part}/{loss}/{output}")
    tag = "CRITDIFF" if flows else "BUG"
    summed = reduced_losses.gradient_of(target, PIECES[part], loss)
    description = (f"d {summed}({loss}) / d {output}" if flows else
                   f"no gradient from the {loss} loss into {output} (official stop-gradient)")
    parity.piece(target, PIECES[part], check, tag, description)
    grads = parity.piece(SimpleNamespace(**target_results(part)), "grads", check, tag,
                         description, within=PIECES[part])
    of_loss = parity.piece(SimpleNamespace(**grads), loss, check, tag, description,
                           within=PIECES[part])
    scale = reduced_losses.reduced_stage(target, PIECES[part], loss,
                                         official_results[part][loss], gradient=True)
    follows = None
    if flows:
        follows = reduced_losses.attribution(
            lambda: _attribution(part, loss, target, target_results, official_results,
                                 stage_inputs, gradient=True), scale)
    setting = None
    if flows:
        setting = lambda: settings_explained.explain_gradient(  # noqa: E731
            part, loss, target, target_results(part), official_results[part],
            stage_inputs[part], stage_inputs["config"], stage_inputs["before"],
            _tolerances(part), reduced_losses.reduced_stage(
                target, PIECES[part], loss, official_results[part][loss]), scale)
    parity.check(check, tag, description, of_loss[output],
                 scale(official_results[part]["grads"][loss][output]), "logit-gradient",
                 follows=follows, setting=setting)


@pytest.mark.parametrize("part,loss", list(stages.GRADIENTS),
                         ids=[f"{p}-{loss}" for p, loss in stages.GRADIENTS])
def test_stage_gradient_reproduces_the_official_gradient(part, loss, official_results,
                                                         stage_inputs):
    output = stages.GRADIENTS[(part, loss)]
    given = {**official_results[part]}
    given.setdefault("value_target", given.get("ret"))
    recomputed = stages.recompute_grad(part, loss, given, stage_inputs[part], stages.OFFICIAL,
                                       stage_inputs["config"])
    comparison = compare.compare(recomputed, official_results[part]["grads"][loss][output],
                                 tolerances.get("logit-gradient"))
    assert comparison.ok, f"stages gradient {part}/{loss} is not the official one: " + (
        comparison.summary())
