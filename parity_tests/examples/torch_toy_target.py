"""A worked example of a PyTorch target: the wrapper around torch_toy_agent.py.

torch_toy_agent.py beside it is the implementation (it stands for your PyTorch code); this
file is all the suite needs from its author. `framework = "torch"` tells the suite to hand
every piece CPU tensors (float32; flags bool; actions integer), integer seeds where a JAX
target gets keys, and to read tensors back (parity_tests/frameworks.py). Each piece converts
the official conventions to the toy's (the reward shift below, with the suite's conversions
from parity_tests/wrappers.py, which take tensors too), calls the toy's own code and returns
what the toy has, in the official layout. No gradient code: for the output-level pieces the
suite takes d sum(loss) / d output with torch.autograd through this wrapper and the toy, so a
wrong shift shows in the gradients too; for the structural probes it differentiates
`own_losses` with respect to the module's parameters the same way.

Run it with the command in docs/TARGETS.md, "PyTorch targets".
"""

from __future__ import annotations

from types import SimpleNamespace

import torch

from parity_tests import wrappers
from parity_tests.examples import torch_toy_agent as toy
from parity_tests.examples import torch_toy_networks as networks

# The suite's operating point ("parity") keeps the official loss hyperparameters, which are
# the toy's defaults.
PRESETS = {"parity": toy.ToyConfig()}


def _config(preset: str) -> toy.ToyConfig:
    if preset not in PRESETS:
        raise ValueError(f"torch toy target: no configuration for preset {preset!r} "
                         f"(known: {', '.join(PRESETS)}); add one to PRESETS")
    return PRESETS[preset]


def lambda_return(last, term, rew, val, boot, disc, lam):
    """Official layout -> textbook: the reward, terminal flag and episode end of the action
    taken at t sit at index t + 1 in the official arrays; an episode end cuts the mixing."""
    steps = wrappers.textbook_returns_inputs(last.float(), term.float(), rew, boot, disc, lam)
    return toy.lambda_return(steps["reward"], steps["value"], steps["discount"], steps["mixing"])


def imagination_loss(preset, inputs, retnorm):
    # The official reward[t] arrived with imagined state t; the toy's rewards[t] is for the
    # action taken in state t, so it is reward[t + 1]. Continuations belong to states in both.
    losses, normaliser = toy.actor_critic_losses(
        inputs["policy_logits"], inputs["action"], wrappers.shift_to_textbook(inputs["reward"]),
        inputs["con"], inputs["value_logits"], inputs["slowvalue_logits"], retnorm,
        _config(preset))
    return {**losses, "retnorm": normaliser}


def replay_loss(preset, inputs):
    # Textbook transition t carries the reward and flags of the state it leads to (t + 1);
    # it is valid unless state t ended its episode (then t + 1 starts the next one).
    last, term = (inputs[k].float() for k in ("is_last", "is_terminal"))
    reward, term_next, last_next = map(wrappers.shift_to_textbook,
                                       (inputs["reward"], term, last))
    return toy.replay_value_loss(reward, term_next, last_next, 1 - last[:, :-1],
                                 inputs["boot"], inputs["value_logits"],
                                 inputs["slowvalue_logits"], _config(preset))


def world_model_terms(preset, inputs):
    # The official reward[t] arrived with observation t: the toy's previous_rewards[t].
    return toy.world_model_losses(
        inputs["image_logits"], inputs["image"], inputs["reward_logits"], inputs["reward"],
        inputs["con_logit"], inputs["is_terminal"], inputs["post_logits"],
        inputs["prior_logits"], _config(preset))


def latent_sample(logits, unimix, seed):
    # The suite hands an integer seed where a JAX target gets a key.
    return toy.latent_sample(logits, unimix, torch.Generator().manual_seed(seed))


def own_params(obs_space, act_space, preset, seed):
    # The suite reads the module's named_parameters(); it moves them, loads them back into this
    # module for own_losses and differentiates with respect to them.
    _config(preset)
    torch.manual_seed(seed)
    return networks.ToyWorldModel(obs_space["image"].shape, act_space["action"].classes)


def own_losses(obs_space, act_space, preset, params, batch, seed):
    # `params` is the module own_params built, holding the suite's parameter values.
    return networks.losses(params, batch, seed, _config(preset))


def own_param_group(name):
    # A named_parameters() name: "dyn.core.weight_ih" -> "dyn"; the slow critic is untrained.
    module = name.split(".", 1)[0]
    return module if module in networks.TRAINED else None


def make_target():
    return SimpleNamespace(
        name="torch-toy",
        framework="torch",
        lambda_return=lambda_return,
        twohot_bins=lambda num_bins: toy.symexp(toy.symlog_bins(num_bins)),
        twohot_pred=toy.twohot_pred,
        twohot_loss=toy.twohot_loss,
        latent_probs=toy.latent_probs,
        latent_entropy=toy.latent_entropy,
        latent_kl_losses=toy.latent_kl_losses,
        latent_sample=latent_sample,
        policy_log_prob=toy.policy_log_prob,
        policy_entropy=toy.policy_entropy,
        imagination_loss=imagination_loss,
        replay_loss=replay_loss,
        world_model_terms=world_model_terms,
        own_params=own_params,
        own_losses=own_losses,
        own_param_group=own_param_group,
    )
