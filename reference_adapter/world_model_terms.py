"""The official world-model loss terms on given network outputs: no network weights involved.

The official code computes these terms inline (dreamerv3/agent.py `Agent.loss`, rssm.py
`Decoder.__call__` and `RSSM.loss`), so there is no function to call on outputs. Each term is
built here from the official pieces: the output types `outs.MSE`/`outs.Agg` (images),
`Head.symexp_twohot`'s `TwoHot` (rewards), `outs.Binary` (continuation), and `RSSM._dist` with
free nats (KL). The glue between them is stated from those lines and checked against the
official agent's own losses by parity_tests/test_adapter.py:
- image: the last convolution's output through a sigmoid, squared error against image / 255
  summed over H, W, C;
- rew: the reward head at step t against reward[t] (the reward that arrived with observation t);
- con: the continuation head against 1 - is_terminal[t], times 1 - 1/horizon with contdisc;
- dyn, rep: the KL of posterior and prior logits with the stop-gradient on one side each,
  summed over latents, then clipped below at free nats.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .pieces import _kl_losses_eager, _twohot_output

OUTPUTS = ("image_logits", "reward_logits", "con_logit", "post_logits", "prior_logits")
BATCH_KEYS = ("image", "reward", "is_first", "is_last", "is_terminal")
TERMS = ("image", "rew", "con", "dyn", "rep")


def _terms(agent, data):
    official, config = agent.official, agent.config
    image = official.outs.Agg(official.outs.MSE(jax.nn.sigmoid(data["image_logits"])), 3,
                              jnp.sum)
    con = (~data["is_terminal"]).astype(jnp.float32)
    if config.contdisc:
        con *= 1 - 1 / config.horizon
    rssm = config.dyn.rssm
    kl = _kl_losses_eager(data["post_logits"], data["prior_logits"], rssm.unimix,
                          rssm.free_nats)
    return {
        "image": image.loss(jax.lax.stop_gradient(data["image"].astype(jnp.float32) / 255)),
        "rew": _twohot_output(data["reward_logits"]).loss(data["reward"]),
        "con": official.outs.Binary(data["con_logit"]).loss(con),
        "dyn": kl["dyn"], "rep": kl["rep"],
    }


def world_model_terms(agent, inputs: dict) -> dict:
    """Per-element terms {image, rew, con, dyn, rep: [B, T]} from outputs [B, T, ...]:
    `image_logits` (decoder output before its sigmoid, [B, T, H, W, C]), `reward_logits`
    [B, T, bins], `con_logit` [B, T], `post_logits`/`prior_logits` [B, T, S, C], and the
    replayed `image` (uint8), `reward`, `is_first`, `is_last`, `is_terminal` (the flags the
    official terms read and the ones they must not); plus `grads` {term: {output:
    d sum(term) / d output}}."""
    data = {k: np.asarray(inputs[k]) for k in (*OUTPUTS, *BATCH_KEYS)}

    def fn(data):
        terms = _terms(agent, data)

        def sums(outputs):
            return {k: v.sum() for k, v in _terms(agent, {**data, **outputs}).items()}

        return {**terms, "grads": jax.jacrev(sums)({k: data[k] for k in OUTPUTS})}

    if "world_model_terms" not in agent._compiled:
        agent._compiled["world_model_terms"] = jax.jit(fn)
    return jax.tree.map(np.asarray, agent._compiled["world_model_terms"](data))
