"""The reimpl's pieces for the structural probes (parity_tests/own_networks.py): its own
initial parameters, its per-element loss terms from given parameters, and which official
module each parameter belongs to. No official weight is involved."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

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


@functools.cache
def _update_fn(obs_items: tuple, act_items: tuple, preset_name: str):
    agent = reimpl_config.agent(obs_items, act_items, preset_name)
    return agent, jax.jit(lambda state, data, seed: agent_lib.train_step(
        agent, state, data, jax.random.key(seed)))


def own_updates(obs_space, act_space, preset_name, params, batches, seed, updates):
    """Consecutive updates from `params`, one per batch: the optimizer's and the agent's
    counters as after `updates` updates, the moments as initialised; update k draws its
    randomness from seed + k as `own_losses` does. -> [{"params", "losses": {term: mean}}]."""
    agent, step = _update_fn(tuple(obs_space.items()), tuple(act_space.items()), preset_name)
    state = agent_lib.init(agent, jax.random.key(seed))
    count = jnp.asarray(updates, jnp.int32)
    clip, rms, momentum, schedule = state.opt_state
    state = state.replace(
        params={k: jnp.asarray(v) for k, v in params.items()}, updates=count,
        opt_state=(clip, rms._replace(step=count), momentum._replace(step=count),
                   schedule._replace(count=count)))
    results = []
    for k, batch in enumerate(batches):
        state, metrics = step(state, batch, seed + k)
        results.append({"params": dict(state.params),
                        "losses": {name.split("/", 1)[1]: float(value)
                                   for name, value in metrics.items()
                                   if name.startswith("loss/")}})
    return results
