"""The world model: encoder, RSSM, decoder, reward and continuation heads, and their losses.

Parameters are a dict {'enc', 'dyn', 'dec', 'rew', 'con'} of the modules' parameter trees;
`parameters.flatten` turns it into the official flat names (`dyn/dynin0/kernel`, ...).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from flax.core import FrozenDict

from . import rssm as rssm_lib
from .config import AgentConfig
from .decoder import Decoder
from .encoder import Encoder
from .heads import MLPHead
from .spaces import Space, sensory_keys

MODULES = ("enc", "dyn", "dec", "rew", "con")
Params = dict[str, Any]
stop_gradient = jax.lax.stop_gradient


@dataclass(frozen=True)
class WorldModel:
    """The world-model modules; hashable, so it can be a static argument of `jax.jit`."""

    obs_space: Mapping[str, Space]
    act_space: Mapping[str, Space]
    config: AgentConfig
    encoder: Encoder
    rssm: rssm_lib.RSSM
    decoder: Decoder
    reward: MLPHead
    continuation: MLPHead

    @classmethod
    def build(
        cls, obs_space: Mapping[str, Space], act_space: Mapping[str, Space], config: AgentConfig
    ) -> WorldModel:
        dtype = jnp.dtype(config.compute_dtype)
        sensory = {key: obs_space[key] for key in sensory_keys(dict(obs_space))}
        return cls(
            obs_space=FrozenDict(obs_space),
            act_space=FrozenDict(act_space),
            config=config,
            encoder=Encoder(sensory, config.enc, dtype),
            rssm=rssm_lib.RSSM(act_space, config.rssm, dtype),
            decoder=Decoder(sensory, config.dec, dtype),
            reward=MLPHead(Space((), "float32"), config.rewhead, dtype),
            continuation=MLPHead(Space((), "bool", classes=2), config.conhead, dtype),
        )

    @property
    def sensory_keys(self) -> list[str]:
        return sensory_keys(dict(self.obs_space))


@struct.dataclass
class WorldModelOutput:
    losses: dict[str, jax.Array]  # every term [B, T]: each decoded key, rew, con, dyn, rep
    feat: dict[str, jax.Array]  # posterior features: deter, stoch, logit, each [B, T, ...]
    carry: dict[str, jax.Array]  # RSSM carry after the last step, [B, ...]
    entries: dict[str, jax.Array]  # RSSM entries deter, stoch, [B, T, ...]
    tokens: jax.Array  # [B, T, D]
    metrics: dict[str, jax.Array]


def _example_inputs(model: WorldModel) -> tuple[dict, dict, jax.Array]:
    """One step of zeros for every input, [1, 1, ...] observations and [1, ...] actions."""
    obs = {
        key: jnp.zeros((1, 1, *model.obs_space[key].shape), model.obs_space[key].dtype)
        for key in model.sensory_keys
    }
    action = {
        key: jnp.zeros((1, *space.shape), space.dtype) for key, space in model.act_space.items()
    }
    return obs, action, jnp.zeros((1,), bool)


def init_params(
    obs_space: Mapping[str, Space],
    act_space: Mapping[str, Space],
    config: AgentConfig,
    key: jax.Array,
) -> Params:
    """Fresh parameters of every world-model module, with the official initialisers."""
    return _init_params(WorldModel.build(obs_space, act_space, config), key)


# One compiled program, cached per model: initialising op by op costs seconds on CPU.
@functools.partial(jax.jit, static_argnums=0)
def _init_params(model: WorldModel, key: jax.Array) -> Params:
    keys = dict(zip(MODULES, jax.random.split(key, len(MODULES)), strict=True))
    obs, action, reset = _example_inputs(model)
    tokens, encoder_variables = model.encoder.init_with_output(keys["enc"], obs)
    carry = rssm_lib.initial_carry(model.config.rssm, 1, model.rssm.dtype)
    rssm_variables = model.rssm.init(
        keys["dyn"], carry, tokens[:, 0], action, reset, method=rssm_lib.RSSM.initialize
    )
    feat = jax.tree.map(lambda x: x[:, None], carry)  # [1, 1, ...]
    features = rssm_lib.feat_to_tensor(feat)
    variables = {
        "enc": encoder_variables,
        "dyn": rssm_variables,
        "dec": model.decoder.init(keys["dec"], feat),
        "rew": model.reward.init(keys["rew"], features, 2),
        "con": model.continuation.init(keys["con"], features, 2),
    }
    return {name: variables[name]["params"] for name in MODULES}


def continuation_target(is_terminal: jax.Array, config: AgentConfig) -> jax.Array:
    """1 - is_terminal, scaled by the discount 1 - 1/horizon when `contdisc` (agent.py)."""
    target = (~is_terminal).astype(jnp.float32)
    if config.contdisc:
        target *= 1 - 1 / config.horizon
    return target


def output_losses(obs, reward, continuation, recons, obs_space, config: AgentConfig) -> dict:
    """The head terms from the head outputs and the replayed steps [B, T] (agent.py Agent.loss):
    the reward head at step t predicts reward[t] (arrived with observation t), the continuation
    head 1 - is_terminal[t], each decoder output its observation (images scaled to [0, 1])."""
    losses = {"rew": reward.loss(obs["reward"].astype(jnp.float32)),
              "con": continuation.loss(continuation_target(obs["is_terminal"], config))}
    for name, recon in recons.items():
        value = obs[name]
        target = value.astype(jnp.float32) / 255 if obs_space[name].is_image else value
        losses[name] = recon.loss(stop_gradient(target))
    return losses


def loss_scales(config: AgentConfig, obs_space: Mapping[str, Space]) -> dict[str, float]:
    """The scale of each world-model term: `rec` for every decoded key (agent.py)."""
    scales = config.loss_scales
    terms = {"rew": scales.rew, "con": scales.con, "dyn": scales.dyn, "rep": scales.rep}
    return {**{key: scales.rec for key in sensory_keys(dict(obs_space))}, **terms}


def world_model_loss(
    model: WorldModel,
    params: Params,
    carry: dict[str, jax.Array],
    obs: Mapping[str, jax.Array],
    prevact: Mapping[str, jax.Array],
    key: jax.Array,
    sample: bool = True,
) -> WorldModelOutput:
    """Every world-model loss term per (B, T) element, as agent.py Agent.loss computes it.

    obs {key: [B, T, ...]} with is_first, is_terminal, reward; prevact {key: [B, T, ...]} the
    action taken before each step; `key` is the posterior sampling key (see rssm.observe).
    """
    config = model.config
    reset = obs["is_first"]
    batch, length = reset.shape
    sensory = {k: obs[k] for k in model.sensory_keys}
    tokens = model.encoder.apply({"params": params["enc"]}, sensory)
    carry, entries, losses, feat, metrics = rssm_lib.loss(
        model.rssm, params["dyn"], carry, tokens, dict(prevact), reset, key, sample
    )
    recons = model.decoder.apply({"params": params["dec"]}, feat)
    features = rssm_lib.feat_to_tensor(feat)  # [B, T, F]
    reward_input = features if config.reward_grad else stop_gradient(features)
    reward = model.reward.apply({"params": params["rew"]}, reward_input, 2)
    continuation = model.continuation.apply({"params": params["con"]}, features, 2)
    losses.update(output_losses(obs, reward, continuation, recons, model.obs_space, config))
    shapes = {name: value.shape for name, value in losses.items()}
    if any(shape != (batch, length) for shape in shapes.values()):
        raise ValueError(f"every loss should be [B, T] = {(batch, length)}, got {shapes}")
    return WorldModelOutput(losses, feat, carry, entries, tokens, metrics)
