"""Is the target's t the official t? Dependency patterns over time, from network outputs.

One input is perturbed at one step t (a reward raised by 3, a continuation halved, a terminal
flag flipped, an action replaced) and each output is recorded where it moved: pattern[b, t, s]
says whether the change at step t of trajectory b reaches output step s. Both sides run on the same outputs
(parity_tests/network_outputs.py) through the architecture-free pieces, so no weights are
shared. A target whose pattern is the official one shifted by k steps reads that input k steps
late (or early): a time-index [BUG], named as such. Any other difference in the pattern (a
dependency missing or added: another flag read, a weight left out) is not a time index; it is
reported as [TOCHECK] with the first (t, s) that differs, and the value checks of the same
quantity give it its severity.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from parity_tests import network_outputs, operating_point, reduced_losses, time_patterns
from reference_adapter import actor_critic, world_model_terms

PROBES = {  # check: (piece, input, output, perturbation)
    "time_index/imag/reward->ret": ("imag", "reward", "ret", "add"),
    "time_index/imag/con->ret": ("imag", "con", "ret", "halve"),
    "time_index/imag/con->weight": ("imag", "con", "weight", "halve"),
    "time_index/imag/action->policy": ("imag", "action", "policy", "other"),
    "time_index/repl/reward->ret": ("repl", "reward", "ret", "add"),
    "time_index/repl/is_terminal->ret": ("repl", "is_terminal", "ret", "flip"),
    "time_index/repl/is_last->weight": ("repl", "is_last", "weight", "flip"),
    "time_index/world_model/reward->rew": ("wm", "reward", "rew", "add"),
    "time_index/world_model/is_terminal->con": ("wm", "is_terminal", "con", "flip"),
}
# A loss declared reduced is read per element from its gradient with respect to its own
# output: a term of (output[s], target[s]) moves its gradient at s whenever it moves itself.
PER_ELEMENT = {"rew": "reward_logits", "con": "con_logit", "policy": "policy_logits"}
REWARD_STEP = 3.0
TRAJECTORIES = 6
PERTURB = {
    "add": lambda values, t: time_patterns.changed_at(values, t, lambda x: x + REWARD_STEP),
    "halve": lambda values, t: time_patterns.changed_at(values, t, lambda x: x * 0.5),
    "flip": lambda values, t: time_patterns.changed_at(values, t, lambda x: ~x),
}


def _other_action(classes: int):
    """The action at step t replaced by the next class: the policy loss scores the action its
    step took (official: logp of action[t] under the policy at t), so the change reaches the
    policy loss at that step alone; a loss that scores the action which led into the step
    reads it one step late."""
    return lambda values, t: time_patterns.changed_at(values, t, lambda x: (x + 1) % classes)


@pytest.fixture(scope="module")
def inputs(act_space, batch, official_agent):
    rssm = official_agent.config.dyn.rssm
    return {"imag": network_outputs.imagination(act_space["action"].classes, TRAJECTORIES),
            "repl": network_outputs.replay({k: v[:, 1:] for k, v in batch.items()}),
            "wm": network_outputs.world_model(batch, rssm.stoch, rssm.classes)}


@pytest.mark.parametrize("check", sorted(PROBES), ids=sorted(PROBES))
def test_time_index(check, target, parity, preset_name, official_agent, shared_variables,
                    inputs):
    part, name, output, how = PROBES[check]
    description = f"which {output} steps a change of {name} at step t reaches"
    retnorm = operating_point.retnorm_state()
    piece_name = {"imag": "imagination_loss", "repl": "replay_loss",
                  "wm": "world_model_terms"}[part]
    piece = parity.piece(target, piece_name, check, "BUG", description)
    if part == "imag":
        ours = lambda data: piece(preset_name, data, retnorm)  # noqa: E731
        official = lambda data: actor_critic.imagination_loss(  # noqa: E731
            official_agent, data, shared_variables)
    elif part == "repl":
        ours = lambda data: piece(preset_name, data)  # noqa: E731
        official = lambda data: actor_critic.replay_loss(  # noqa: E731
            official_agent, data, shared_variables)
    else:
        ours = lambda data: piece(preset_name, data)  # noqa: E731
        official = lambda data: world_model_terms.world_model_terms(  # noqa: E731
            official_agent, data)
    perturb = (_other_action(inputs[part]["policy_logits"].shape[-1]) if how == "other"
               else PERTURB[how])
    # a result without the output is "not provided" for this probe, as for the value checks
    result = ours(inputs[part])
    parity.piece(SimpleNamespace(**result), output, check, "BUG", description,
                 within=piece_name)
    reduced = reduced_losses.kind(target, piece_name, output)
    if reduced != "none":  # a loss declared reduced: per element through its gradient
        flow = PER_ELEMENT[output]
        grads = parity.piece(SimpleNamespace(**result), "grads", check, "BUG", description,
                             within=piece_name)
        parity.piece(SimpleNamespace(**grads), output, check, "BUG", description,
                     within=piece_name)
        description += f" (read from d {reduced}({output}) / d {flow}: declared reduced)"
        ours, official = (
            (lambda data, fn=fn: {output: fn(data)["grads"][output][flow]})
            for fn in (ours, official))
    mine, reference, weak = time_patterns.resolved(
        time_patterns.pattern(ours, inputs[part], name, [output], perturb),
        time_patterns.pattern(official, inputs[part], name, [output], perturb))
    agrees, tag, detail = time_patterns.diagnose(mine, reference, name, output)
    parity.verdict(check, tag, description, agrees, detail,
                   f"same pattern ({time_patterns.reach_text(reference, weak)})")
