"""The whole agent on shared weights: every loss term (world model, imagination actor-critic,
replay value loss), the gradient of each actor-critic term, one optimizer update of every
official variable, and the slow critic over consecutive steps. Deterministic mode."""

from __future__ import annotations

import numpy as np
import pytest

from parity_tests import operating_point

AC_TERMS = {
    "policy": "policy loss: cumprod(disc*con) weights, normalised advantages, entropy bonus",
    "value": "value loss on imagined returns with slowreg",
    "repval": "replay value loss bootstrapped from imagination",
}
STEPS = 3  # consecutive train steps for the slow-critic cadence


@pytest.fixture(scope="module")
def official_losses(official_agent, shared_variables, batch):
    return official_agent.losses(batch, seed=0, variables=shared_variables).losses


@pytest.mark.parametrize("term", sorted(AC_TERMS), ids=sorted(AC_TERMS))
def test_agent_actor_critic_loss(term, target, parity, official_losses, shared_variables,
                                 preset_name, obs_space, act_space, batch):
    check = f"agent/loss/{term}"
    fn = parity.piece(target, "agent_losses", check, "CRITDIFF", AC_TERMS[term])
    ours = np.asarray(fn(obs_space, act_space, preset_name, shared_variables, batch)[term])
    parity.check(check, "CRITDIFF", AC_TERMS[term] + ", per (B, T)", ours,
                 official_losses[term], "forward")


@pytest.fixture(scope="module")
def official_grads(official_agent, shared_variables, batch):
    return official_agent.loss_grads(batch, seed=0, variables=shared_variables)


@pytest.mark.parametrize("term", sorted(AC_TERMS), ids=sorted(AC_TERMS))
def test_agent_actor_critic_gradients(term, target, parity, official_grads, shared_variables,
                                      preset_name, obs_space, act_space, batch):
    check = f"gradients/agent/{term}"
    description = f"d mean({term}) / d every trained parameter"
    fn = parity.piece(target, "agent_grads", check, "CRITDIFF", description)
    ours = fn(obs_space, act_space, preset_name, shared_variables, batch)[term]
    parity.check(check, "CRITDIFF", description, {k: np.asarray(v) for k, v in ours.items()},
                 official_grads[term], "gradient")


def test_agent_train_step_updates_every_variable(target, parity, official_agent, preset_name,
                                                 shared_variables, obs_space, act_space, batch):
    check = "agent/train_step/variables"
    description = ("one train step: parameters, optimizer state (official chain), return "
                   "normaliser, slow critic and counters")
    fn = parity.piece(target, "train_step", check, "DIFF", description)
    variables = operating_point.mid_warmup(shared_variables)
    ref, _ = official_agent.train_step(batch, seed=0, variables=variables)
    ours = fn(obs_space, act_space, preset_name, variables, batch)
    parity.check(check, "DIFF", description, ours, ref, "gradient")


def test_agent_slow_critic_cadence(target, parity, official_agent, shared_variables, preset_name,
                                   obs_space, act_space, batch):
    """The official rule (embodied/jax/utils.py SlowModel.update, called once per train step
    after the optimizer): when count % every == 0, slow = rate * value + (1 - rate) * slow,
    then count + 1. Checked on the target's own value head, so a difference in the optimizer
    update does not show here (agent/train_step/variables covers that)."""
    check = "agent/slow_critic/cadence"
    description = (f"slow critic after each of {STEPS} consecutive steps against the official "
                   "rule applied to the target's own value head")
    fn = parity.piece(target, "train_step", check, "CRITDIFF", description)
    rate, every = official_agent.config.slowvalue.rate, official_agent.config.slowvalue.every
    variables = operating_point.mid_warmup(shared_variables)
    ours_trace, rule_trace = [], []
    for _ in range(STEPS):
        new = {k: np.asarray(v) for k, v in fn(obs_space, act_space, preset_name, variables,
                                                batch).items()}
        count = int(variables["slowval_count/value"])
        mix = rate if count % every == 0 else 0.0
        rule_trace.append({"count": np.asarray(count + 1), **{
            k: (mix * new[k[len("slow"):]] + (1 - mix) * variables[k]).astype(np.float32)
            for k in new if k.startswith("slowval/")}})
        ours_trace.append({"count": new["slowval_count/value"], **{
            k: v for k, v in new.items() if k.startswith("slowval/")}})
        variables = new
    parity.check(check, "CRITDIFF", description, ours_trace, rule_trace, "elementwise")
