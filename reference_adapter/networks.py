"""The official networks module by module, each on inputs given from outside.

`module_inputs` runs the official `Agent.loss` path on a replayed batch up to its heads and
returns what each module received there: the observations, the encoder's tokens, the posterior
features and the previous actions. `module_outputs` runs every module on given inputs of that
form, one at a time, so a module is judged on the official values of everything before it:
- `enc`: the encoder's tokens of the observations [B, T, ...];
- `dyn/core`: the block GRU (`RSSM._core`) from a deterministic state, a latent and an action,
  [N, deter]; `dyn/prior`: the prior logits of a deterministic state (`RSSM._prior`);
  `dyn/posterior`: the posterior logits of a deterministic state and tokens, the part of
  `RSSM._observe` after its core (the core's result replaced by the given state);
- `dec/<key>`: the decoder's output mean for each observation key, of the features [B, T];
- `rew`, `val`: the two-hot logits; `con`: the continuation logit; `pol/<key>`: the policy
  logits of each action key, of the features [B, T].
"""

from __future__ import annotations

import jax.numpy as jnp

from .loader import load


def module_inputs(model, data):
    """For `OfficialAgent.apply`: {obs, tokens, feat {deter, stoch, logit}, prevact} of the
    steps after the replay context, as the official loss computes them."""
    carry, obs, prevact, _ = model._apply_replay_context(model.init_train(len(data["reward"])),
                                                        data)
    enc_carry, dyn_carry, _ = carry
    reset = obs["is_first"]
    _, _, tokens = model.enc(enc_carry, obs, reset, True)
    _, _, _, feat, _ = model.dyn.loss(dyn_carry, tokens, prevact, reset, True)
    return {"obs": obs, "tokens": tokens, "feat": feat, "prevact": prevact}


def _posterior(dyn, deter, stoch, tokens, action):
    """The posterior logits `_observe` computes after its core, on the given state."""
    object.__setattr__(dyn, "_core", lambda *args: deter)  # this instance, while tracing
    try:
        reset = jnp.zeros(deter.shape[:1], bool)
        _, (_, feat) = dyn._observe({"deter": deter, "stoch": stoch}, tokens, action, reset,
                                    True)
    finally:
        object.__delattr__(dyn, "_core")
    return feat["logit"]


def _mean(output):
    """The mean of an observation's output (an aggregated MSE over its dims)."""
    return getattr(output, "output", output).mean


def module_outputs(model, inputs):
    """For `OfficialAgent.apply`: every module's output on `inputs` {obs, feat [B, T], step
    {deter, stoch, tokens [N, ...], action {k: [N]}}}."""
    obs, feat, step = inputs["obs"], inputs["feat"], inputs["step"]
    reset = obs["is_first"]
    enc_carry, _, dec_carry, _ = model.init_train(len(reset))
    _, _, tokens = model.enc(enc_carry, obs, reset, True)
    dyn = model.dyn
    action = load().nets.DictConcat(dyn.act_space, 1)(step["action"])
    _, _, recons = model.dec(dec_carry, feat, reset, True)
    x = model.feat2tensor(feat)
    return {
        "enc": tokens,
        "dyn/core": dyn._core(step["deter"], step["stoch"], action),
        "dyn/prior": dyn._prior(step["deter"]),
        "dyn/posterior": _posterior(dyn, step["deter"], step["stoch"], step["tokens"],
                                    step["action"]),
        **{f"dec/{k}": _mean(v) for k, v in recons.items()},
        "rew": model.rew(x, 2).logits, "con": model.con(x, 2).logit,
        **{f"pol/{k}": v.logits for k, v in model.pol(x, 2).items()},
        "val": model.val(x, 2).logits,
    }
