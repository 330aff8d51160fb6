"""The whole agent on shared weights: every loss term (world model, imagination actor-critic,
replay value loss), the gradient of each actor-critic term, one optimizer update of every
official variable, and the slow critic over consecutive steps. Deterministic mode."""

from __future__ import annotations

import numpy as np
import pytest

AC_TERMS = {
    "policy": "policy loss: cumprod(disc*con) weights, normalised advantages, entropy bonus",
    "value": "value loss on imagined returns with slowreg",
    "repval": "replay value loss bootstrapped from imagination",
}
STEPS = 3  # consecutive train steps for the slow-critic cadence


def _warm(variables):
    """Mid-warmup, so the official update is not the exact zero of learning-rate step 0."""
    count = variables["opt/state/3/count"]
    return {**variables, "opt/state/3/count": np.asarray(500, count.dtype)}


@pytest.fixture(scope="module")
def official_losses(official_agent, shared_variables, batch):
    return official_agent.losses(batch, seed=0, variables=shared_variables).losses


@pytest.mark.parametrize("term", sorted(AC_TERMS), ids=sorted(AC_TERMS))
def test_agent_actor_critic_loss(term, target, parity, official_losses, shared_variables,
                                 obs_space, act_space, batch):
    check = f"agent/loss/{term}"
    fn = parity.piece(target, "agent_losses", check, "CRITDIFF", AC_TERMS[term])
    ours = np.asarray(fn(obs_space, act_space, "debug", shared_variables, batch)[term])
    parity.check(check, "CRITDIFF", AC_TERMS[term] + ", per (B, T)", ours,
                 official_losses[term], "forward")


@pytest.fixture(scope="module")
def official_grads(official_agent, shared_variables, batch):
    return official_agent.loss_grads(batch, seed=0, variables=shared_variables)


@pytest.mark.parametrize("term", sorted(AC_TERMS), ids=sorted(AC_TERMS))
def test_agent_actor_critic_gradients(term, target, parity, official_grads, shared_variables,
                                      obs_space, act_space, batch):
    check = f"gradients/agent/{term}"
    description = f"d mean({term}) / d every trained parameter"
    fn = parity.piece(target, "agent_grads", check, "CRITDIFF", description)
    ours = fn(obs_space, act_space, "debug", shared_variables, batch)[term]
    parity.check(check, "CRITDIFF", description, {k: np.asarray(v) for k, v in ours.items()},
                 official_grads[term], "gradient")


def test_agent_train_step_updates_every_variable(target, parity, official_agent,
                                                 shared_variables, obs_space, act_space, batch):
    check = "agent/train_step/variables"
    description = ("one train step: parameters, optimizer state (official chain), return "
                   "normaliser, slow critic and counters")
    fn = parity.piece(target, "train_step", check, "DIFF", description)
    variables = _warm(shared_variables)
    ref, _ = official_agent.train_step(batch, seed=0, variables=variables)
    ours = fn(obs_space, act_space, "debug", variables, batch)
    parity.check(check, "DIFF", description, ours, ref, "gradient")


def test_agent_slow_critic_cadence(target, parity, official_agent, shared_variables,
                                   obs_space, act_space, batch):
    check = "agent/slow_critic/cadence"
    description = f"slow critic and its counter after each of {STEPS} consecutive steps"
    fn = parity.piece(target, "train_step", check, "CRITDIFF", description)
    ours_vars = ref_vars = _warm(shared_variables)
    ours_trace, ref_trace = [], []
    for _ in range(STEPS):
        ref_vars, _ = official_agent.train_step(batch, seed=0, variables=ref_vars)
        ours_vars = fn(obs_space, act_space, "debug", ours_vars, batch)
        keep = lambda v: {k: x for k, x in v.items() if k.startswith("slowval")}  # noqa: E731
        ours_trace.append(keep(ours_vars))
        ref_trace.append(keep(ref_vars))
    parity.check(check, "CRITDIFF", description, ours_trace, ref_trace, "gradient")
