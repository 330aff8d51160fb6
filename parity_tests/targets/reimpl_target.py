"""The default target: this repository's reimplementation (`reimpl/`).

It needs no conversion: the reimpl uses the official parameter names and conventions.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np

from parity_tests.targets import (
    reimpl_actor_critic,
    reimpl_config,
    reimpl_networks,
    reimpl_own_networks,
    reimpl_update_rules,
    reimpl_world_model,
)
from parity_tests.targets.reimpl_actor_critic import twohot
from reimpl import agent as agent_lib
from reimpl import distributions, parameters, returns, rssm, world_model
from reimpl.config import RSSMConfig
from reimpl.replay_context import apply_replay_context
from reimpl.train import loop, replay


def latent_kl_losses(post, prior, unimix, free_nats):
    return rssm.kl_losses(post, prior, RSSMConfig(unimix=unimix, free_nats=free_nats))


def latent_sample(logits, unimix, key):
    return rssm.latent_dist(jnp.asarray(logits, jnp.float32), unimix).sample(key)


@functools.cache
def _world_model_fns(obs_items: tuple, act_items: tuple, preset_name: str):
    obs_space, act_space = dict(obs_items), dict(act_items)
    config = reimpl_config.config(preset_name)
    model = world_model.WorldModel.build(obs_space, act_space, config)

    def losses(params, data):
        batch_size = data["is_first"].shape[0]
        carry = rssm.initial_carry(config.rssm, batch_size)
        prevact = {k: jnp.zeros((batch_size, *s.shape), s.dtype) for k, s in act_space.items()}
        carry, obs, prevact = apply_replay_context(
            data, carry, prevact, list(obs_space), list(act_space), config.replay_context)
        out = world_model.world_model_loss(
            model, params, carry, obs, prevact, jax.random.key(0), sample=False)
        return out.losses

    def grads(params, data):
        means = lambda p: {k: v.mean() for k, v in losses(p, data).items()}  # noqa: E731
        return jax.jacrev(means)(params)

    return jax.jit(losses), jax.jit(grads)


def _world_model_params(params):
    return parameters.unflatten(
        {k: v for k, v in params.items() if k.split("/")[0] in world_model.MODULES})


def world_model_losses(obs_space, act_space, preset_name, params, batch):
    """Deterministic-mode world-model losses from official flat params and an official batch."""
    losses, _ = _world_model_fns(tuple(obs_space.items()), tuple(act_space.items()), preset_name)
    return losses(_world_model_params(params), batch)


def world_model_grads(obs_space, act_space, preset_name, params, batch):
    """d mean(term) / d param for every world-model term, flat official names."""
    _, grads = _world_model_fns(tuple(obs_space.items()), tuple(act_space.items()), preset_name)
    nested = grads(_world_model_params(params), batch)
    return {term: parameters.flatten(tree) for term, tree in nested.items()}


@functools.cache
def _agent_fns(obs_items: tuple, act_items: tuple, preset_name: str):
    agent = reimpl_config.agent(obs_items, act_items, preset_name)
    key = jax.random.key(0)  # unused in deterministic mode

    def losses(state, data):
        return agent_lib.loss(agent, state, state.params, data, key, sample=False)[1][0]

    def grads(state, data):
        def means(trained):
            per_term = agent_lib.loss(agent, state, {**state.params, **trained}, data, key,
                                      sample=False)[1][0]
            return {k: v.mean() for k, v in per_term.items()}

        trained = {k: v for k, v in state.params.items()
                   if k.split("/", 1)[0] in agent_lib.TRAINED}
        return jax.jacrev(means)(trained)

    def train(state, data):
        return agent_lib.train_step(agent, state, data, key, sample=False)[0]

    return agent, jax.jit(losses), jax.jit(grads), jax.jit(train)


def _agent_call(index, obs_space, act_space, preset_name, variables, batch):
    fns = _agent_fns(tuple(obs_space.items()), tuple(act_space.items()), preset_name)
    return fns[0], fns[index](agent_lib.from_official(fns[0], variables), batch)


def agent_losses(obs_space, act_space, preset_name, variables, batch):
    """Every loss term per element, deterministic mode, from the official variables."""
    return _agent_call(1, obs_space, act_space, preset_name, variables, batch)[1]


def agent_grads(obs_space, act_space, preset_name, variables, batch):
    """d mean(term) / d trained parameter for every term."""
    return _agent_call(2, obs_space, act_space, preset_name, variables, batch)[1]


def train_step(obs_space, act_space, preset_name, variables, batch):
    """One train step from the official variables -> the new official variables."""
    agent, state = _agent_call(3, obs_space, act_space, preset_name, variables, batch)
    return agent_lib.to_official(agent, state)


@functools.cache
def _policy_fn(obs_items: tuple, act_items: tuple, preset_name: str):
    agent = reimpl_config.agent(obs_items, act_items, preset_name)

    def sample(params, obs, key):
        carry = agent_lib.initial_policy_carry(agent, 1)
        carry, action, _ = agent_lib.policy_step(agent, params, carry, obs, key, sample=True)
        return {"stoch": carry["rssm"]["stoch"], "action": action}

    return agent, jax.jit(jax.vmap(sample, in_axes=(None, None, 0)))


@functools.cache
def _rollout_fn(obs_items: tuple, act_items: tuple, preset_name: str):
    agent = reimpl_config.agent(obs_items, act_items, preset_name)

    def rollout(params, obs):
        carry = agent_lib.initial_policy_carry(agent, obs["is_first"].shape[0])
        steps = []
        for t in range(obs["is_first"].shape[1]):
            step = {k: v[:, t] for k, v in obs.items()}
            carry, action, _ = agent_lib.policy_step(agent, params, carry, step,
                                                     jax.random.key(0), sample=False)
            steps.append({"action": action, **carry["rssm"]})
        return jax.tree.map(lambda *xs: jnp.stack(xs, 1), *steps)

    return agent, jax.jit(rollout)


def policy_rollout(obs_space, act_space, preset_name, variables, obs):
    """The acting policy over obs {k: [B, T, ...]} from the initial carry, deterministic:
    {"action": {k: [B, T, ...]}, "deter": [B, T, D], "stoch": [B, T, S, C]}."""
    agent, fn = _rollout_fn(tuple(obs_space.items()), tuple(act_space.items()), preset_name)
    return fn(agent_lib.from_official(agent, variables).params, obs)


# The reimpl's layers that produce the posterior and the policy logits (official names).
UNIFORM_SITES = ("dyn/obslogit/", "pol/head/")


def uniform_policy_samples(obs_space, act_space, preset_name, obs, keys):
    """One policy step from the initial carry per key, from the reimpl's own initial
    parameters with the posterior and policy logit layers zeroed (both sites uniform): latent
    one-hots [N, 1, S, C] and actions {key: [N, 1, ...]}."""
    agent, fn = _policy_fn(tuple(obs_space.items()), tuple(act_space.items()), preset_name)
    params = agent_lib.init(agent, jax.random.key(0)).params
    params = {k: jnp.zeros_like(v) if k.startswith(UNIFORM_SITES) else v
              for k, v in params.items()}
    return fn(params, obs, keys)


# Steps the replay keeps over all envs (declared as replay_capacity): smaller than the suite's
# stream, so its rings wrap and evict, as in training.
REPLAY_CAPACITY = 800


def replay_sequences(stream, batch_size, length, key):
    """Write `stream` {key: [E, T, ...]} into a replay of REPLAY_CAPACITY steps (one ring per
    env), then sample sequences [B, L, ...]."""
    example = {k: jnp.asarray(v[:, 0]) for k, v in stream.items()}
    memory = replay.init_replay(example, REPLAY_CAPACITY // stream["is_first"].shape[0])
    memory = replay.extend(memory, {k: jnp.swapaxes(jnp.asarray(v), 0, 1)
                                    for k, v in stream.items()})
    return replay.sample(memory, key, batch_size, length)


def update_schedule(train_ratio, envs, steps_per_collect, batch_size, batch_length, iterations):
    """Cumulative updates after each collect phase of reimpl.train's loop."""
    per_iteration = loop.updates_per_iteration(train_ratio, envs, steps_per_collect, batch_size,
                                               batch_length)
    return np.cumsum([loop.updates_due(per_iteration, i) for i in range(iterations)])


def make_target() -> SimpleNamespace:
    return SimpleNamespace(
        name="reimpl",
        official_config=reimpl_config.official_config,
        fixed_config=reimpl_config.fixed_config,
        lambda_return=returns.lambda_return,
        twohot_bins=distributions.symexp_bins,
        twohot_pred=lambda logits: twohot(logits).pred(),
        twohot_loss=lambda logits, target: twohot(logits).loss(jnp.asarray(target)),
        latent_probs=lambda logits, unimix: jnp.exp(
            rssm.latent_dist(logits, unimix).output.dist.logits),
        latent_entropy=lambda logits, unimix: rssm.latent_dist(logits, unimix).entropy(),
        latent_kl_losses=latent_kl_losses,
        latent_sample=latent_sample,
        policy_log_prob=lambda logits, action: distributions.Categorical(logits).logp(action),
        policy_entropy=lambda logits: distributions.Categorical(logits).entropy(),
        world_model_losses=world_model_losses,
        world_model_grads=world_model_grads,
        world_model_terms=reimpl_world_model.world_model_terms,
        imagination_loss=reimpl_actor_critic.imagination_loss,
        replay_loss=reimpl_actor_critic.replay_loss,
        agent_losses=agent_losses,
        agent_grads=agent_grads,
        train_step=train_step,
        policy_rollout=policy_rollout,
        module_outputs=reimpl_networks.module_outputs,
        own_params=reimpl_own_networks.own_params,
        own_losses=reimpl_own_networks.own_losses,
        own_updates=reimpl_own_networks.own_updates,
        own_param_group=reimpl_own_networks.own_param_group,
        uniform_policy_samples=uniform_policy_samples,
        replay_sequences=replay_sequences,
        replay_capacity=REPLAY_CAPACITY,
        update_schedule=update_schedule,
        optimizer_steps=reimpl_update_rules.optimizer_steps,
        slow_critic_steps=reimpl_update_rules.slow_critic_steps,
        total_loss=reimpl_update_rules.total_loss,
        return_normaliser=reimpl_update_rules.return_normaliser,
    )
