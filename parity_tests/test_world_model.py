"""World-model losses per (B, T) element on shared weights and a shared batch.

Both sides run in deterministic mode (latent samples replaced by the mode, straight-through
gradients kept) at the official debug preset, on the shared (noised official) parameters.
"""

from __future__ import annotations

import numpy as np
import pytest

WORLD_MODEL_TERMS = {
    "image": ("DIFF", "image reconstruction loss (MSE summed over pixels)"),
    "rew": ("DIFF", "reward two-hot loss"),
    "con": ("DIFF", "continuation loss (target 1 - is_terminal, times 1 - 1/horizon)"),
    "dyn": ("CRITDIFF", "dynamics KL term (after free nats)"),
    "rep": ("CRITDIFF", "representation KL term (after free nats)"),
}


@pytest.fixture(scope="module")
def official_losses(official_agent, shared_variables, batch):
    return official_agent.losses(batch, seed=0, variables=shared_variables).losses


@pytest.fixture(scope="module")
def target_world_model_losses(target, shared_params, obs_space, act_space, preset_name,
                              batch):
    fn = getattr(target, "world_model_losses", None)
    if fn is None:
        return None
    losses = fn(obs_space, act_space, preset_name, shared_params, batch)
    return {k: np.asarray(v) for k, v in losses.items()}


@pytest.mark.parametrize("term", sorted(WORLD_MODEL_TERMS), ids=sorted(WORLD_MODEL_TERMS))
def test_world_model_loss(term, target, parity, official_losses, target_world_model_losses):
    tag, description = WORLD_MODEL_TERMS[term]
    check = f"world_model/loss/{term}"
    parity.piece(target, "world_model_losses", check, tag, description)
    ours = target_world_model_losses[term]
    parity.check(check, tag, description + ", per (B, T)", ours, official_losses[term],
                 "forward")
