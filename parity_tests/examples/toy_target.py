"""A worked example target: the wrapper around a small, deliberately different DreamerV3.

toy_agent.py beside it is the implementation (it stands for your code: textbook time indices,
first-release two-hot, KL averaged over latents, a policy with unimix); this file is all the
suite needs from its author. Each piece takes the suite's inputs in the OFFICIAL conventions,
converts them to the toy's (the reward shift below, with the suite's conversions from
parity_tests/wrappers.py), calls the toy's own code and returns what the toy has, in the
official layout. `jax.jacrev` of the whole conversion gives the gradients
with respect to the official-layout outputs. Keys left out of a result are reported as not
provided (here `value_target`: the toy's critic target is `ret`, compared already).

Run it with the command in docs/TARGETS.md, "Worked example" (--target
parity_tests.examples.toy_target:make_target --registry parity_tests/examples/toy_registry.toml).
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np

from parity_tests import wrappers
from parity_tests.examples import toy_agent as toy

# The suite's operating point ("parity") keeps the official loss hyperparameters, which are
# the toy's defaults; its network sizes do not concern these pieces.
PRESETS = {"parity": toy.ToyConfig()}
IMAG_OUTPUTS = ("policy_logits", "reward", "con", "value_logits", "slowvalue_logits")
REPL_OUTPUTS = ("reward", "boot", "value_logits", "slowvalue_logits")
WORLD_MODEL_OUTPUTS = ("image_logits", "reward_logits", "con_logit", "post_logits",
                       "prior_logits")


def _config(preset: str) -> toy.ToyConfig:
    if preset not in PRESETS:
        raise ValueError(f"toy target: no configuration for preset {preset!r} "
                         f"(known: {', '.join(PRESETS)}); add one to PRESETS")
    return PRESETS[preset]


def lambda_return(last, term, rew, val, boot, disc, lam):
    """Official layout -> textbook: the reward, terminal flag and episode end of the action
    taken at t sit at index t + 1 in the official arrays; an episode end cuts the mixing
    (the suite's shift, parity_tests/wrappers.py)."""
    last, term, rew, boot = (jnp.asarray(x, jnp.float32) for x in (last, term, rew, boot))
    steps = wrappers.textbook_returns_inputs(last, term, rew, boot, disc, lam)
    return toy.lambda_return(steps["reward"], steps["value"], steps["discount"], steps["mixing"])


def _imagination(config, data, retnorm):
    # The official reward[t] arrived with imagined state t; the toy's rewards[t] is for the
    # action taken in state t, so it is reward[t + 1]. Continuations belong to states in both.
    losses, normaliser = toy.actor_critic_losses(
        data["policy_logits"], data["action"], wrappers.shift_to_textbook(data["reward"]),
        data["con"],
        data["value_logits"], data["slowvalue_logits"], retnorm, config)
    return {**losses, "retnorm": normaliser}


def _replay(config, data):
    # Textbook transition t carries the reward and flags of the state it leads to (t + 1);
    # it is valid unless state t ended its episode (then t + 1 starts the next one).
    last, term = (data[k].astype(jnp.float32) for k in ("is_last", "is_terminal"))
    reward, term_next, last_next = map(wrappers.shift_to_textbook, (data["reward"], term, last))
    return toy.replay_value_loss(
        reward, term_next, last_next, 1 - last[:, :-1], data["boot"], data["value_logits"],
        data["slowvalue_logits"], config)


def _world_model(config, data):
    # The official reward[t] arrived with observation t: the toy's previous_rewards[t].
    return toy.world_model_losses(
        data["image_logits"], data["image"], data["reward_logits"], data["reward"],
        data["con_logit"], data["is_terminal"], data["post_logits"], data["prior_logits"],
        config)


def _with_grads(losses_fn, outputs, terms):
    """A jitted fn(data, *args) -> the losses plus grads {term: {output: d sum(term) /
    d output}}, differentiating through the wrapper's own conversion."""

    def run(data, *args):
        def sums(differentiable):
            result = losses_fn({**data, **differentiable}, *args)
            return {k: result[k].sum() for k in terms}, result

        grads, result = jax.jacrev(sums, has_aux=True)({k: data[k] for k in outputs})
        return {**result, "grads": grads}

    return jax.jit(run)


@functools.cache
def _programs(preset: str):
    config = _config(preset)
    return SimpleNamespace(
        imag=_with_grads(functools.partial(_imagination, config), IMAG_OUTPUTS,
                         ("policy", "value")),
        repl=_with_grads(functools.partial(_replay, config), REPL_OUTPUTS, ("repval",)),
        world_model=_with_grads(functools.partial(_world_model, config), WORLD_MODEL_OUTPUTS,
                                ("image", "rew", "con", "dyn", "rep")),
    )


def _run(program, inputs, *args):
    data = {k: jnp.asarray(v) for k, v in inputs.items()}
    return jax.tree.map(np.asarray, program(data, *args))


def imagination_loss(preset, inputs, retnorm):
    retnorm = {k: jnp.float32(v) for k, v in retnorm.items()}
    return _run(_programs(preset).imag, inputs, retnorm)


def replay_loss(preset, inputs):
    return _run(_programs(preset).repl, inputs)


def world_model_terms(preset, inputs):
    return _run(_programs(preset).world_model, inputs)


def make_target():
    return SimpleNamespace(
        name="toy",
        lambda_return=lambda_return,
        twohot_bins=lambda num_bins: toy.symexp(toy.symlog_bins(num_bins)),
        twohot_pred=toy.twohot_pred,
        twohot_loss=toy.twohot_loss,
        latent_probs=toy.latent_probs,
        latent_entropy=toy.latent_entropy,
        latent_kl_losses=toy.latent_kl_losses,
        latent_sample=toy.latent_sample,
        policy_log_prob=toy.policy_log_prob,
        policy_entropy=toy.policy_entropy,
        imagination_loss=imagination_loss,
        replay_loss=replay_loss,
        world_model_terms=world_model_terms,
    )
