"""The reimpl's pieces for the structural probes (parity_tests/own_networks.py): its own
initial parameters, its per-element loss terms from given parameters, and which official
module each parameter belongs to. No official weight is involved."""

from __future__ import annotations

import functools

import jax

from parity_tests.targets import reimpl_config
from reimpl import agent as agent_lib


@functools.cache
def _losses_fn(obs_items: tuple, act_items: tuple, preset_name: str):
    agent = reimpl_config.agent(obs_items, act_items, preset_name)

    def losses(params, data, seed):
        key = jax.random.key(seed)
        state = agent_lib.init(agent, key)
        return agent_lib.loss(agent, state, params, data, key)[1][0]

    return jax.jit(losses)


def own_params(obs_space, act_space, preset_name, seed):
    agent = reimpl_config.agent(tuple(obs_space.items()), tuple(act_space.items()), preset_name)
    return dict(agent_lib.init(agent, jax.random.key(seed)).params)


def own_losses(obs_space, act_space, preset_name, params, batch, seed):
    """Every loss term per element, sampled with keys drawn from `seed`."""
    fn = _losses_fn(tuple(obs_space.items()), tuple(act_space.items()), preset_name)
    return fn(params, batch, seed)


def own_param_group(path: str) -> str | None:
    """"['dyn/dynin0/kernel']" -> "dyn"; the slow critic is not trained (None)."""
    module = path.strip("[]'\"").split("/", 1)[0]
    return module if module in agent_lib.TRAINED else None
