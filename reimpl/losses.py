"""Actor-critic losses on imagined trajectories and the value loss on replayed ones
(official dreamerv3/agent.py `imag_loss`, `repl_loss`).

Heads arrive as distributions with `pred()`, `loss(target)` (per element), `logp(event)` and
`entropy()`. Normaliser states go in and the updated ones come out; `update` is a Python bool
(the official `training`), so it selects code at trace time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from . import normalize
from .config import NormalizeConfig
from .normalize import NormalizeState
from .returns import lambda_return

stop_gradient = jax.lax.stop_gradient
Distribution = Any  # pred(), loss(target), logp(event), entropy()

RETNORM = NormalizeConfig()  # configs.yaml retnorm
VALNORM = NormalizeConfig(impl="none", limit=1e-8)  # configs.yaml valnorm
ADVNORM = NormalizeConfig(impl="none", limit=1e-8)  # configs.yaml advnorm


@struct.dataclass
class Normalizers:
    retnorm: NormalizeState
    valnorm: NormalizeState
    advnorm: NormalizeState


def _pad_last(x: jax.Array) -> jax.Array:  # [N, H] -> [N, H+1]
    return jnp.concatenate([x, 0 * x[:, -1:]], 1)


def _check_time_major(rew: jax.Array, con: jax.Array, act: Mapping[str, jax.Array]) -> None:
    shapes = {"rew": rew.shape, "con": con.shape, **{f"act/{k}": v.shape for k, v in act.items()}}
    if rew.ndim != 2 or any(s[:2] != rew.shape for s in shapes.values()):
        raise ValueError(f"expected [B*K, H+1] leading axes everywhere, got {shapes}")


def imag_loss(
    act: Mapping[str, jax.Array],  # {key: [N, H+1, ...]} actions taken at each imagined step
    rew: jax.Array,  # [N, H+1] predicted reward
    con: jax.Array,  # [N, H+1] predicted continuation probability
    policy: Mapping[str, Distribution],  # {key: [N, H+1]}
    value: Distribution,  # [N, H+1]
    slowvalue: Distribution,  # [N, H+1]
    retnorm_state: NormalizeState,
    valnorm_state: NormalizeState,
    advnorm_state: NormalizeState,
    update: bool,
    *,
    contdisc: bool,
    horizon: int,
    slowtar: bool = False,
    lam: float = 0.95,
    actent: float = 3e-4,
    slowreg: float = 1.0,
    retnorm_config: NormalizeConfig = RETNORM,
    valnorm_config: NormalizeConfig = VALNORM,
    advnorm_config: NormalizeConfig = ADVNORM,
) -> tuple[dict[str, jax.Array], Normalizers, dict[str, jax.Array], dict[str, jax.Array]]:
    """-> losses {'policy', 'value': [N, H]}, normalisers, outs {'ret', and the intermediates
    'weight', 'adv' (normalised), 'value_target', 'entropy_term', 'slowreg_term': [N, H]},
    metrics.
    Defaults are configs.yaml's (the official signature has slowtar=True)."""
    _check_time_major(rew, con, act)
    voffset, vscale = normalize.stats(valnorm_state, valnorm_config)  # before this update
    val = value.pred() * vscale + voffset
    slowval = slowvalue.pred() * vscale + voffset
    tarval = slowval if slowtar else val
    disc = 1 if contdisc else 1 - 1 / horizon
    weight = trajectory_weight(con, disc)  # [N, H+1]
    ret = lambda_return(jnp.zeros_like(con), 1 - con, rew, tarval, tarval, disc, lam)  # [N, H]

    retnorm_state, (roffset, rscale) = normalize.normalize(
        retnorm_state, ret, retnorm_config, update)
    adv = advantage(ret, tarval[:, :-1], rscale)
    advnorm_state, (aoffset, ascale) = normalize.normalize(
        advnorm_state, adv, advnorm_config, update)
    adv_normed = (adv - aoffset) / ascale
    logpi = sum([dist.logp(stop_gradient(act[k]))[:, :-1] for k, dist in policy.items()])
    entropies = {k: dist.entropy()[:, :-1] for k, dist in policy.items()}
    steps = stop_gradient(weight[:, :-1])
    losses = {"policy": steps * -(
        logpi * stop_gradient(adv_normed) + actent * sum(entropies.values()))}
    entropy_term = steps * -(actent * sum(entropies.values()))

    valnorm_state, (voffset, vscale) = normalize.normalize(
        valnorm_state, ret, valnorm_config, update)
    tar_normed = (ret - voffset) / vscale
    regulariser = slowreg * value.loss(stop_gradient(slowvalue.pred()))
    losses["value"] = steps * (
        value.loss(stop_gradient(_pad_last(tar_normed))) + regulariser)[:, :-1]
    slowreg_term = steps * regulariser[:, :-1]

    ret_normed = (ret - roffset) / rscale
    metrics = _imag_metrics(adv, rew, con, ret_normed, val, tar_normed, weight, slowval)
    for k, dist in policy.items():
        metrics[f"ent/{k}"] = entropies[k].mean()
        if hasattr(dist, "minent"):
            metrics[f"rand/{k}"] = (entropies[k].mean() - dist.minent) / (
                dist.maxent - dist.minent)
    states = Normalizers(retnorm_state, valnorm_state, advnorm_state)
    # the intermediates, for reading them where they are computed (parity_tests/targets)
    outs = {"ret": ret, "weight": weight[:, :-1], "adv": adv_normed, "value_target": tar_normed,
            "entropy_term": entropy_term, "slowreg_term": slowreg_term}
    return losses, states, outs, metrics


def trajectory_weight(con: jax.Array, disc: float) -> jax.Array:  # [N, H+1] -> [N, H+1]
    """How much each imagined step counts: the probability that the trajectory is still alive
    there, discounted. Dividing by disc makes the first weight con[0] and the discount start
    one step later (official imag_loss)."""
    return jnp.cumprod(disc * con, 1) / disc


def advantage(ret: jax.Array, value: jax.Array, scale: jax.Array | float) -> jax.Array:
    """(ret - value) / scale, uncentred: the official advantage divides by the return scale
    and subtracts no offset or mean."""
    return (ret - value) / scale


def _imag_metrics(adv, rew, con, ret_normed, val, tar_normed, weight, slowval):
    """The official imag_loss metric names."""
    return {
        "adv": adv.mean(), "adv_std": adv.std(), "adv_mag": jnp.abs(adv).mean(),
        "rew": rew.mean(), "con": con.mean(), "ret": ret_normed.mean(), "val": val.mean(),
        "tar": tar_normed.mean(), "weight": weight.mean(), "slowval": slowval.mean(),
        "ret_min": ret_normed.min(), "ret_max": ret_normed.max(),
        "ret_rate": (jnp.abs(ret_normed) >= 1.0).mean(),
    }


def replay_weight(last: jax.Array) -> jax.Array:  # [B, K] -> [B, K]
    """How much each replayed step's value loss counts: 0 at the step that ends an episode
    (its return would bootstrap across the boundary), 1 elsewhere (official f32(~last))."""
    return 1 - jnp.asarray(last, jnp.float32)


def repl_loss(
    last: jax.Array,  # [B, K] replayed is_last
    term: jax.Array,  # [B, K] replayed is_terminal
    rew: jax.Array,  # [B, K] replayed reward (arrived with observation t)
    boot: jax.Array,  # [B, K] imagined return from each replayed step
    value: Distribution,  # [B, K]
    slowvalue: Distribution,  # [B, K]
    valnorm_state: NormalizeState,
    update: bool,
    *,
    horizon: int,
    slowtar: bool = False,
    lam: float = 0.95,
    slowreg: float = 1.0,
    valnorm_config: NormalizeConfig = VALNORM,
) -> tuple[dict[str, jax.Array], NormalizeState, dict[str, jax.Array], dict[str, jax.Array]]:
    """-> losses {'repval': [B, K-1]}, valnorm state, outs {'ret', 'weight', 'slowreg_term':
    [B, K-1]}, metrics."""
    voffset, vscale = normalize.stats(valnorm_state, valnorm_config)
    tarval = (slowvalue if slowtar else value).pred() * vscale + voffset
    disc = 1 - 1 / horizon
    # The official computes tarval but bootstraps only from the imagined returns `boot`.
    ret = lambda_return(last, term, rew, tarval, boot, disc, lam)  # [B, K-1]
    valnorm_state, (voffset, vscale) = normalize.normalize(
        valnorm_state, ret, valnorm_config, update)
    ret_normed = (ret - voffset) / vscale
    weight = replay_weight(last)
    regulariser = slowreg * value.loss(stop_gradient(slowvalue.pred()))
    losses = {"repval": weight[:, :-1] * (
        value.loss(stop_gradient(_pad_last(ret_normed))) + regulariser)[:, :-1]}
    outs = {"ret": ret, "weight": weight[:, :-1],
            "slowreg_term": (weight * regulariser)[:, :-1]}
    return losses, valnorm_state, outs, {}
