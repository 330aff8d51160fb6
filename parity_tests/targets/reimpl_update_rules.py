"""The reimpl's update rules wrapped as pieces any architecture provides (docs/TARGETS.md,
"Update rules"): each calls the function the reimpl's train step calls (`optimizer.apply`,
`agent.update_slow`, `agent.total_loss`, `normalize.normalize`), looked up when it runs, so a
mistake planted there is the mistake these pieces show.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from parity_tests.targets import reimpl_config
from reimpl import agent as agent_lib
from reimpl import normalize
from reimpl import optimizer as optimizer_lib


def _float32(tree):
    return jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), tree)


@functools.cache
def _optimizer_program(preset_name: str):
    config = reimpl_config.config(preset_name).opt

    def run(params, grads):
        def update(carry, grad):
            params, state = carry
            params, state = optimizer_lib.apply(config, params, grad, state)
            return (params, state), params

        state = optimizer_lib.make_optimizer(config).init(params)
        return jax.lax.scan(update, (params, state), grads)[1]

    return jax.jit(run)


def optimizer_steps(preset_name, params, grads):
    return jax.tree.map(np.asarray, _optimizer_program(preset_name)(_float32(params),
                                                                    _float32(grads)))


def slow_critic_steps(preset_name, slow, online):
    config = reimpl_config.config(preset_name).slowvalue
    slow, count, trajectory = _float32(slow), jnp.zeros((), jnp.int32), []
    for k in range(len(next(iter(online.values())))):
        source = {name: jnp.asarray(value[k], jnp.float32) for name, value in online.items()}
        slow, count = agent_lib.update_slow(slow, source, count, config.rate, config.every)
        trajectory.append(slow)
    return {name: np.stack([np.asarray(s[name]) for s in trajectory]) for name in slow}


def total_loss(obs_space, act_space, preset_name, terms):
    agent = reimpl_config.agent(tuple(obs_space.items()), tuple(act_space.items()),
                                preset_name)
    return float(agent_lib.total_loss(_float32(terms), agent.loss_scales))


def return_normaliser(preset_name, returns):
    config = reimpl_config.config(preset_name).retnorm
    state, out = normalize.init(), {"offset": [], "scale": []}
    for batch in jnp.asarray(returns, jnp.float32):
        state, (offset, scale) = normalize.normalize(state, batch, config, True)
        out["offset"].append(offset)
        out["scale"].append(scale)
    return {k: np.asarray(jnp.stack([jnp.asarray(x, jnp.float32) for x in v]))
            for k, v in out.items()}
