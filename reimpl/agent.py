"""The DreamerV3 agent as pure functions: the total loss (world model, imagination,
actor-critic, replay value loss) and the train step (official optimizer chain, slow critic).

State lives in `AgentState`; parameters are a flat dict keyed by official name
(`dyn/dynin0/kernel`, `pol/head/action/logits/kernel`, `slowval/...`), so a state converts to
and from the official variables with no mapping table (`to_official`, `from_official`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from . import normalize, parameters
from . import optimizer as optimizer_lib
from . import rssm as rssm_lib
from . import world_model as wm
from .config import AgentConfig
from .heads import MLPHead
from .losses import Normalizers, imag_loss, repl_loss
from .replay_context import apply_replay_context
from .slow_critic import update_slow
from .spaces import Space

stop_gradient = jax.lax.stop_gradient
TRAINED = (*wm.MODULES, "pol", "val")


@dataclass(frozen=True)
class Agent:
    """The static part: spaces, config and the flax modules."""

    obs_space: Mapping[str, Space]
    act_space: Mapping[str, Space]
    config: AgentConfig
    world_model: wm.WorldModel
    policy: MLPHead
    value: MLPHead

    @classmethod
    def build(cls, obs_space, act_space, config: AgentConfig) -> Agent:
        dtype = jnp.dtype(config.compute_dtype)
        return cls(
            obs_space=obs_space, act_space=act_space, config=config,
            world_model=wm.WorldModel.build(obs_space, act_space, config),
            policy=MLPHead(dict(act_space), config.policy, dtype),
            value=MLPHead(Space((), "float32"), config.value, dtype),
        )

    @property
    def loss_scales(self) -> dict[str, float]:
        scales = self.config.loss_scales
        return {**wm.loss_scales(self.config, self.obs_space), "policy": scales.policy,
                "value": scales.value, "repval": scales.repval}


@struct.dataclass
class AgentState:
    params: dict[str, jax.Array]  # flat, official names; trained modules and slowval
    opt_state: Any
    norms: Normalizers
    slow_count: jax.Array  # [] int32, official `slowval_count`
    updates: jax.Array  # [] int32, official `opt/step`


def _module(params: Mapping[str, jax.Array], name: str):
    prefix = name + "/"
    return parameters.unflatten({k[len(prefix):]: v for k, v in params.items()
                                 if k.startswith(prefix)})


def init(agent: Agent, key: jax.Array) -> AgentState:
    world_key, policy_key, value_key = jax.random.split(key, 3)
    params = parameters.flatten(
        wm.init_params(agent.obs_space, agent.act_space, agent.config, world_key))
    features = jnp.zeros((1, 1, _feature_size(agent.config)), jnp.float32)
    heads = {"pol": agent.policy.init(policy_key, features, 2)["params"],
             "val": agent.value.init(value_key, features, 2)["params"]}
    params.update(parameters.flatten(heads))
    params.update({"slow" + k: v for k, v in params.items() if k.startswith("val/")})
    trained = {k: v for k, v in params.items() if k.split("/", 1)[0] in TRAINED}
    zero = jnp.zeros((), jnp.int32)
    norms = Normalizers(normalize.init(), normalize.init(), normalize.init())
    opt_state = optimizer_lib.make_optimizer(agent.config.opt).init(trained)
    return AgentState(params, opt_state, norms, zero, zero)


def _feature_size(config: AgentConfig) -> int:
    return config.rssm.deter + config.rssm.stoch * config.rssm.classes


def _sample(dists: Mapping, key: jax.Array, sample: bool) -> dict[str, jax.Array]:
    keys = jax.random.split(key, len(dists))
    return {k: (d.sample(kk) if sample else d.pred()) for (k, d), kk in zip(
        sorted(dists.items()), keys, strict=True)}


def _imagine(agent, params, entries, carry, repfeat, key, sample):
    """Roll the prior forward from every replayed step; [B*K, H+1] features and actions."""
    config = agent.config
    batch, length = repfeat["deter"].shape[:2]
    last = min(config.imag_last or length, length)
    starts = rssm_lib.starts(entries, carry, last)
    policy_params = {"params": _module(params, "pol")}
    imagine_key, last_key = jax.random.split(key)

    def policy(feat, policy_key):
        dists = agent.policy.apply(policy_params, rssm_lib.feat_to_tensor(feat), 1)
        return _sample(dists, policy_key, sample)

    _, imgfeat, imgprevact = rssm_lib.imagine(
        agent.world_model.rssm, _module(params, "dyn"), starts, policy,
        config.imag_length, imagine_key, sample)
    first = jax.tree.map(lambda x: x[:, -last:].reshape((batch * last, 1, *x.shape[2:])),
                         {k: repfeat[k] for k in imgfeat})
    first = first if config.ac_grads else stop_gradient(first)
    imgfeat = jax.tree.map(lambda a, b: jnp.concatenate([a, b], 1), first,
                           stop_gradient(imgfeat))
    lastact = policy(jax.tree.map(lambda x: x[:, -1], imgfeat), last_key)
    imgact = {k: jnp.concatenate([imgprevact[k], lastact[k][:, None]], 1) for k in lastact}
    return imgfeat, imgact, last


def loss(agent: Agent, state: AgentState, params, data, key: jax.Array, sample: bool = True):
    """Total loss and, per term, the per-element losses (official Agent.loss)."""
    config = agent.config
    posterior_key, imagine_key = jax.random.split(key)
    batch = data["is_first"].shape[0]
    carry = rssm_lib.initial_carry(config.rssm, batch)
    prevact = {k: jnp.zeros((batch, *s.shape), s.dtype) for k, s in agent.act_space.items()}
    carry, obs, prevact = apply_replay_context(
        data, carry, prevact, list(agent.obs_space), list(agent.act_space), config.replay_context)
    world_params = {name: _module(params, name) for name in wm.MODULES}
    out = wm.world_model_loss(agent.world_model, world_params, carry, obs, prevact,
                              posterior_key, sample)
    losses, metrics = dict(out.losses), dict(out.metrics)

    imgfeat, imgact, last = _imagine(agent, params, out.entries, carry, out.feat,
                                     imagine_key, sample)
    inp = rssm_lib.feat_to_tensor(imgfeat)
    heads = _heads(agent, params, inp)
    ac_losses, norms, ac_outs, ac_metrics = imagination_terms(config, imgact, heads,
                                                              state.norms)
    losses.update({k: v.mean(1).reshape((batch, last)) for k, v in ac_losses.items()})
    metrics.update(ac_metrics)

    if config.repval_loss:
        feat = out.feat if config.repval_grad else stop_gradient(out.feat)
        boot = replay_bootstrap(ac_outs["ret"]).reshape(batch, last)
        replayed = [obs[k][:, -last:] for k in ("is_last", "is_terminal", "reward")]
        inp = rssm_lib.feat_to_tensor(jax.tree.map(lambda x: x[:, -last:], feat))
        value_heads = _heads(agent, params, inp, names=("val", "slowval"))
        repl, valnorm, _, _ = replay_terms(config, replayed, boot[:, -last:], value_heads,
                                           norms.valnorm)
        losses.update(repl)
        norms = norms.replace(valnorm=valnorm)
    return total_loss(losses, agent.loss_scales), (losses, norms, metrics)


def imagination_terms(config: AgentConfig, imgact, heads, norms: Normalizers):
    """The call site of the imagined actor-critic losses: the heads' outputs on the imagined
    features -> `imag_loss` (official Agent.loss: rew.pred(), con.prob(1), the policy, value and
    slow value outputs). The output-level pieces run this same code on given outputs."""
    return imag_loss(
        imgact, heads["rew"].pred(), heads["con"].prob(1), heads["pol"], heads["val"],
        heads["slowval"], norms.retnorm, norms.valnorm, norms.advnorm, True,
        contdisc=config.contdisc, horizon=config.horizon, **vars(config.imag_loss),
        retnorm_config=config.retnorm, valnorm_config=config.valnorm,
        advnorm_config=config.advnorm)


def replay_bootstrap(imagined_ret: jax.Array) -> jax.Array:
    """What the replay return bootstraps from, given the imagined returns [..., H] of the
    imagination started from each replayed step: the first, the return of the replayed state
    itself (official Agent.loss: `boot = ret[:, 0]`)."""
    return imagined_ret[..., 0]


def replay_terms(config: AgentConfig, replayed, boot, value_heads, valnorm):
    """The call site of the replay value loss: replayed (is_last, is_terminal, reward), the
    imagined return from each replayed step and the value heads on the replayed features ->
    `repl_loss`. The output-level pieces run this same code on given outputs."""
    return repl_loss(*replayed, boot, value_heads["val"], value_heads["slowval"], valnorm, True,
                     horizon=config.horizon, **vars(config.repl_loss),
                     valnorm_config=config.valnorm)


def total_loss(losses: Mapping[str, jax.Array], scales: Mapping[str, float]) -> jax.Array:
    """The scalar the optimizer minimises: each term's mean times its scale (official
    Agent.loss)."""
    if set(losses) != set(scales):
        raise ValueError(f"loss terms {sorted(losses)} do not match scales {sorted(scales)}")
    return sum(v.mean() * scales[k] for k, v in losses.items())


def _heads(agent, params, inp, names=("rew", "con", "pol", "val", "slowval")):
    model = agent.world_model
    modules = {"rew": model.reward, "con": model.continuation, "pol": agent.policy,
               "val": agent.value, "slowval": agent.value}
    return {n: modules[n].apply({"params": _module(params, n)}, inp, 2) for n in names}


def train_step(agent: Agent, state: AgentState, data, key: jax.Array, sample: bool = True):
    """Gradients of the total loss, the optimizer update, then the slow critic (official
    Agent.train: `self.opt(...)` then `self.slowval.update()`)."""
    trained = {k: v for k, v in state.params.items() if k.split("/", 1)[0] in TRAINED}
    frozen = {k: v for k, v in state.params.items() if k not in trained}

    def total_loss(trained):
        return loss(agent, state, {**frozen, **trained}, data, key, sample)

    (total, (losses, norms, metrics)), grads = jax.value_and_grad(total_loss, has_aux=True)(
        trained)
    trained, opt_state = optimizer_lib.apply(agent.config.opt, trained, grads, state.opt_state)
    slow = {k[len("slow"):]: v for k, v in frozen.items() if k.startswith("slowval/")}
    source = {k: trained[k] for k in slow}
    slow, slow_count = update_slow(slow, source, state.slow_count,
                                   agent.config.slowvalue.rate, agent.config.slowvalue.every)
    params = {**frozen, **trained, **{"slow" + k: v for k, v in slow.items()}}
    metrics = {**metrics, "loss": total, "grad_norm": optax.global_norm(grads)}
    metrics.update({f"loss/{k}": v.mean() for k, v in losses.items()})
    new_state = AgentState(params, opt_state, norms, slow_count, state.updates + 1)
    return new_state, metrics


def to_official(agent: Agent, state: AgentState) -> dict[str, np.ndarray]:
    """Every official variable: parameters, optimizer state, normalisers, counters."""
    flat = dict(state.params)
    flat.update(optimizer_lib.to_official_flat(state.opt_state))
    flat["opt/step/value"] = state.updates
    flat["slowval_count/value"] = state.slow_count
    flat.update(_normalizer_variables(agent, state.norms))
    return {k: np.asarray(v) for k, v in flat.items()}


# Official Normalize variable names per impl: (low/mean slot, high/square slot).
_NORM_SLOTS = {"perc": ("lo", "hi"), "meanstd": ("mean", "sqrs")}


def _normalizer_variables(agent: Agent, norms: Normalizers) -> dict[str, jax.Array]:
    """Only the variables the official Normalize creates for this config."""
    flat = {}
    for name, config in zip(("retnorm", "valnorm", "advnorm"), (
            agent.config.retnorm, agent.config.valnorm, agent.config.advnorm), strict=True):
        if config.impl == "none":
            continue
        norm = getattr(norms, name)
        low, high = _NORM_SLOTS[config.impl]
        flat.update({f"{name}/{low}/value": norm.lo, f"{name}/{high}/value": norm.hi})
        if config.debias:
            flat[f"{name}/corr/value"] = norm.corr
    return flat


def from_official(agent: Agent, flat: Mapping[str, np.ndarray]) -> AgentState:
    """The inverse of `to_official`; normaliser entries the official agent does not keep
    (impl 'none', or no debias) start at zero."""
    params = {k: jnp.asarray(v) for k, v in flat.items()
              if k.split("/", 1)[0] in (*TRAINED, "slowval")}
    trained = {k: v for k, v in params.items() if k.split("/", 1)[0] in TRAINED}

    def norm(name):
        low, high = _NORM_SLOTS.get(getattr(agent.config, name).impl, ("lo", "hi"))

        def read(slot):
            return jnp.asarray(flat.get(f"{name}/{slot}/value", 0.0), jnp.float32)

        return normalize.init().replace(lo=read(low), hi=read(high), corr=read("corr"))

    return AgentState(
        params=params,
        opt_state=optimizer_lib.from_official_flat(flat, trained),
        norms=Normalizers(norm("retnorm"), norm("valnorm"), norm("advnorm")),
        slow_count=jnp.asarray(flat["slowval_count/value"]),
        updates=jnp.asarray(flat["opt/step/value"]),
    )


def initial_policy_carry(agent: Agent, num_envs: int) -> dict[str, Any]:
    """RSSM carry and previous action for `num_envs` environments, all zeros."""
    actions = {k: jnp.zeros((num_envs, *s.shape), s.dtype) for k, s in agent.act_space.items()}
    return {"rssm": rssm_lib.initial_carry(agent.config.rssm, num_envs), "prevact": actions}


def policy_step(agent: Agent, params, carry, obs, key: jax.Array, sample: bool = True):
    """One environment step of the policy (official Agent.policy): encode, posterior step
    (the carry and previous action are zeroed where `is_first`), then sample an action.
    obs {key: [N, ...]} -> (carry, action {key: [N, ...]}, entries {dyn/deter, dyn/stoch})."""
    model = agent.world_model
    posterior_key, action_key = jax.random.split(key)
    sensory = {k: obs[k] for k in model.sensory_keys}
    tokens = model.encoder.apply({"params": _module(params, "enc")}, sensory, bdims=1)
    rssm_carry, entry, feat = model.rssm.apply(
        {"params": _module(params, "dyn")}, carry["rssm"], tokens, carry["prevact"],
        obs["is_first"], posterior_key, sample, method=rssm_lib.RSSM.observe_step)
    dists = agent.policy.apply({"params": _module(params, "pol")},
                               rssm_lib.feat_to_tensor(feat), 1)
    action = _sample(dists, action_key, sample)
    entries = {f"dyn/{k}": v for k, v in entry.items()}
    return {"rssm": rssm_carry, "prevact": action}, action, entries
