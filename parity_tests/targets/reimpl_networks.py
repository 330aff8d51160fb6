"""The reimpl's networks module by module on given inputs (piece `module_outputs`,
docs/TARGETS.md): its encoder, the block GRU, prior and posterior of its RSSM, its decoder and
its heads, each run on the official values of its inputs with the official weights."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from parity_tests.targets import reimpl_config
from reimpl import agent as agent_lib
from reimpl import rssm
from reimpl.nets import dict_concat


@functools.cache
def _program(obs_items: tuple, act_items: tuple, preset_name: str):
    agent = reimpl_config.agent(obs_items, act_items, preset_name)
    model, act_space = agent.world_model, dict(act_items)

    def run(params, inputs):
        def apply(module, name, *args, **kwargs):
            return module.apply({"params": agent_lib._module(params, name)}, *args, **kwargs)

        step, feat = inputs["step"], inputs["feat"]
        action = dict_concat(act_space, step["action"], jnp.float32)
        dyn = functools.partial(apply, model.rssm, "dyn")
        x = rssm.feat_to_tensor(feat)
        recons = apply(model.decoder, "dec", feat)
        policy = apply(agent.policy, "pol", x, 2)
        return {
            "enc": apply(model.encoder, "enc",
                         {k: inputs["obs"][k] for k in model.sensory_keys}, bdims=2),
            "dyn/core": dyn(step["deter"], step["stoch"], action, method=rssm.RSSM.core),
            "dyn/prior": dyn(step["deter"], method=rssm.RSSM.prior),
            "dyn/posterior": dyn(step["deter"], step["tokens"], method=rssm.RSSM.posterior),
            **{f"dec/{k}": v.output.mean for k, v in recons.items()},
            "rew": apply(model.reward, "rew", x, 2).logits,
            "con": apply(model.continuation, "con", x, 2).logit,
            **{f"pol/{k}": v.logits for k, v in policy.items()},
            "val": apply(agent.value, "val", x, 2).logits,
        }

    return jax.jit(run)


def module_outputs(obs_space, act_space, preset_name, params, inputs):
    """Every module's output on the official values of its inputs (reference_adapter/networks.py
    names them)."""
    fn = _program(tuple(obs_space.items()), tuple(act_space.items()), preset_name)
    return jax.tree.map(np.asarray, fn(params, jax.tree.map(jnp.asarray, inputs)))
