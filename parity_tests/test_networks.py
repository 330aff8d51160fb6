"""networks/<module>: the target's networks module by module, on the official weights.

Each module runs on the official values of its inputs (reference_adapter/networks.py): the
encoder on the replayed observations, the block GRU, the prior and the posterior on the
official posterior states, tokens and previous actions of the same batch (one step each), the
decoder and the heads on the official features. A module that differs computes another
function of the same inputs and weights: an architecture variant (a norm after the activation,
a gate without its bias, another activation, a missing sigmoid), a [DIFF] by the suite's
definitions, found in the module where it enters; the modules after it are judged on official
inputs, so it does not spread to them. The loss checks on the same weights
(world_model/loss/..., agent/loss/...) see it too, as a change of what the losses compute; this
check says where.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from reference_adapter import networks

MODULES = {
    "enc": "encoder tokens of the replayed observations",
    "dyn/core": "block GRU: the next deterministic state from a state, a latent and an action",
    "dyn/prior": "prior logits of a deterministic state",
    "dyn/posterior": "posterior logits of a deterministic state and the step's tokens",
    "dec/image": "decoder output mean (after its output transform) of the features",
    "rew": "reward head two-hot logits of the features",
    "con": "continuation head logit of the features",
    "pol/action": "policy logits of the features",
    "val": "value head two-hot logits of the features",
}


def _steps(x):
    """[B, T, ...] -> [B * T, ...]."""
    x = np.asarray(x)
    return x.reshape((-1, *x.shape[2:]))


@pytest.fixture(scope="module")
def module_inputs(official_agent, shared_variables, batch):
    """The official values each module receives on the batch: the observations, the features
    [B, T], and one step of the RSSM for each step after the first: the state and latent of
    step t - 1, the action before step t and the tokens of step t."""
    found = official_agent.apply(networks.module_inputs, batch, variables=shared_variables)
    feat = found["feat"]
    step = {"deter": _steps(feat["deter"][:, :-1]), "stoch": _steps(feat["stoch"][:, :-1]),
            "tokens": _steps(found["tokens"][:, 1:]),
            "action": {k: _steps(v[:, 1:]) for k, v in found["prevact"].items()}}
    return {"obs": found["obs"], "feat": {k: feat[k] for k in ("deter", "stoch")},
            "step": step}


@pytest.fixture(scope="module")
def official_modules(official_agent, shared_variables, module_inputs):
    return official_agent.apply(networks.module_outputs, module_inputs,
                                variables=shared_variables)


@pytest.fixture(scope="module")
def target_modules(target, obs_space, act_space, preset_name, shared_params, module_inputs):
    fn = getattr(target, "module_outputs", None)
    return None if fn is None else fn(obs_space, act_space, preset_name, shared_params,
                                      module_inputs)


@pytest.mark.parametrize("module", sorted(MODULES), ids=sorted(MODULES))
def test_network_module(module, target, parity, official_modules, target_modules):
    check = f"networks/{module}"
    description = MODULES[module] + " (official weights, official inputs)"
    parity.piece(target, "module_outputs", check, "DIFF", description)
    parity.piece(SimpleNamespace(**target_modules), module, check, "DIFF", description,
                 within="module_outputs")
    parity.check(check, "DIFF", description, target_modules[module], official_modules[module],
                 "deep-forward" if module.startswith("dec/") else "forward")
