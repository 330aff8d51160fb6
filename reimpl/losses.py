"""Actor-critic losses on imagined trajectories and the value loss on replayed ones
(official dreamerv3/agent.py `imag_loss`, `repl_loss`).

Heads arrive as distributions with `pred`, `loss`, `logp`, `entropy`; normaliser states are
passed in and the updated ones returned.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
from flax import struct

from .config import ImagLossConfig, NormalizeConfig, ReplLossConfig
from .normalize import NormalizeState, normalize_stats, update_normalize
from .returns import lambda_return

stop_gradient = jax.lax.stop_gradient


@struct.dataclass
class Normalizers:
    retnorm: NormalizeState
    valnorm: NormalizeState
    advnorm: NormalizeState


@struct.dataclass
class NormalizerConfigs:
    retnorm: NormalizeConfig = struct.field(pytree_node=False)
    valnorm: NormalizeConfig = struct.field(pytree_node=False)
    advnorm: NormalizeConfig = struct.field(pytree_node=False)


def _normalize(state, x, config, update):
    """Update (if training) and then read the stats, as the official Normalize.__call__."""
    state = update_normalize(state, x, config) if update else state
    return state, normalize_stats(state, config)


def _pad_last(x: jax.Array) -> jax.Array:  # [N, H] -> [N, H + 1]
    return jnp.concatenate([x, 0 * x[:, -1:]], 1)


def imag_loss(
    act: Mapping[str, jax.Array], rew: jax.Array, con: jax.Array,
    policy: Mapping, value, slowvalue, norms: Normalizers, configs: NormalizerConfigs,
    update: bool, config: ImagLossConfig, *, contdisc: bool, horizon: int,
) -> tuple[dict[str, jax.Array], Normalizers, dict[str, jax.Array], dict[str, jax.Array]]:
    """act {k: [N, H+1, ...]}, rew/con [N, H+1] -> losses {'policy', 'value': [N, H]},
    normalisers, outs {'ret': [N, H]}, metrics."""
    voffset, vscale = normalize_stats(norms.valnorm, configs.valnorm)
    val = value.pred() * vscale + voffset
    slowval = slowvalue.pred() * vscale + voffset
    tarval = slowval if config.slowtar else val
    disc = 1 if contdisc else 1 - 1 / horizon
    weight = jnp.cumprod(disc * con, 1) / disc  # [N, H+1]
    ret = lambda_return(jnp.zeros_like(con), 1 - con, rew, tarval, tarval, disc, config.lam)

    retnorm, (_, rscale) = _normalize(norms.retnorm, ret, configs.retnorm, update)
    adv = (ret - tarval[:, :-1]) / rscale  # the offset cancels in a difference
    advnorm, (aoffset, ascale) = _normalize(norms.advnorm, adv, configs.advnorm, update)
    adv_normed = (adv - aoffset) / ascale
    logpi = sum(dist.logp(stop_gradient(act[k]))[:, :-1] for k, dist in policy.items())
    entropy = sum(dist.entropy()[:, :-1] for dist in policy.values())
    losses = {"policy": stop_gradient(weight[:, :-1]) * -(
        logpi * stop_gradient(adv_normed) + config.actent * entropy)}

    valnorm, (voffset, vscale) = _normalize(norms.valnorm, ret, configs.valnorm, update)
    target = _pad_last((ret - voffset) / vscale)
    value_loss = value.loss(stop_gradient(target)) + config.slowreg * value.loss(
        stop_gradient(slowvalue.pred()))
    losses["value"] = stop_gradient(weight[:, :-1]) * value_loss[:, :-1]
    metrics = {"adv": adv.mean(), "ret": ret.mean(), "val": val.mean(),
               "weight": weight.mean(), "entropy": entropy.mean()}
    return losses, Normalizers(retnorm, valnorm, advnorm), {"ret": ret}, metrics


def repl_loss(
    last: jax.Array, term: jax.Array, rew: jax.Array, boot: jax.Array, value, slowvalue,
    valnorm: NormalizeState, valnorm_config: NormalizeConfig, update: bool,
    config: ReplLossConfig, *, horizon: int,
) -> tuple[dict[str, jax.Array], NormalizeState, dict[str, jax.Array]]:
    """[B, K] replayed steps bootstrapped from imagination -> {'repval': [B, K-1]}."""
    voffset, vscale = normalize_stats(valnorm, valnorm_config)
    val = value.pred() * vscale + voffset
    slowval = slowvalue.pred() * vscale + voffset
    tarval = slowval if config.slowtar else val
    disc = 1 - 1 / horizon
    ret = lambda_return(last, term, rew, tarval, boot, disc, config.lam)
    valnorm, (voffset, vscale) = _normalize(valnorm, ret, valnorm_config, update)
    target = _pad_last((ret - voffset) / vscale)
    value_loss = value.loss(stop_gradient(target)) + config.slowreg * value.loss(
        stop_gradient(slowvalue.pred()))
    weight = (~last).astype(jnp.float32)
    return {"repval": weight[:, :-1] * value_loss[:, :-1]}, valnorm, {"ret": ret}
