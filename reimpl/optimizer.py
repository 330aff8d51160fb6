"""The official optimizer chain (embodied/jax/opt.py, dreamerv3/agent.py `_make_opt`):
adaptive gradient clipping per parameter tensor, RMS scaling with bias correction, momentum with
bias correction, then the learning rate with a linear warmup from 0.

The chain order (agc, rms, momentum, schedule) is the official one, so chain index i is the
official `opt/state/i/...`; `to_official_flat` and `from_official_flat` map the state to and
from the official variable names for a flat dict of parameters keyed by official name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .config import OptConfig

PREFIX = "opt/state"


class ClipByAgcState(NamedTuple):
    """Stateless (official `()`)."""


class ScaleByRmsState(NamedTuple):
    step: jax.Array  # [] int32, official opt/state/1/0
    nu: optax.Updates  # official opt/state/1/1/<param>


class ScaleByMomentumState(NamedTuple):
    step: jax.Array  # [] int32, official opt/state/2/0
    mu: optax.Updates  # official opt/state/2/1/<param>


def clip_by_agc(clip: float = 0.3, pmin: float = 1e-3) -> optax.GradientTransformation:
    """Scale each tensor's update so its norm is at most clip * max(pmin, |param|)."""

    def clip_one(param: jax.Array, update: jax.Array) -> jax.Array:
        update_norm = jnp.linalg.norm(update.flatten(), 2)
        upper = clip * jnp.maximum(pmin, jnp.linalg.norm(param.flatten(), 2))
        # Multiplying by the reciprocal, as the official does, keeps float32 bits equal.
        return update * (1 / jnp.maximum(1.0, update_norm / upper))

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("clip_by_agc needs the parameters: call update(grads, state, params)")
        return (jax.tree.map(clip_one, params, updates) if clip else updates), state

    return optax.GradientTransformation(lambda params: ClipByAgcState(), update_fn)


def _zeros(params: optax.Params) -> optax.Updates:
    return jax.tree.map(lambda p: jnp.zeros_like(p, jnp.float32), params)


def scale_by_rms(beta: float = 0.999, eps: float = 1e-20) -> optax.GradientTransformation:
    """Divide by the root of the bias-corrected average of squared updates, plus eps."""

    def update_fn(updates, state, params=None):
        step = optax.safe_int32_increment(state.step)
        nu = jax.tree.map(lambda v, u: beta * v + (1 - beta) * (u * u), state.nu, updates)
        nu_hat = optax.tree.bias_correction(nu, beta, step)
        updates = jax.tree.map(lambda u, v: u / (jnp.sqrt(v) + eps), updates, nu_hat)
        return updates, ScaleByRmsState(step, nu)

    return optax.GradientTransformation(
        lambda params: ScaleByRmsState(jnp.zeros((), jnp.int32), _zeros(params)), update_fn)


def scale_by_momentum(beta: float = 0.9) -> optax.GradientTransformation:
    """The bias-corrected average of the updates (the official nesterov=False path)."""

    def update_fn(updates, state, params=None):
        step = optax.safe_int32_increment(state.step)
        mu = optax.tree.update_moment(updates, state.mu, beta, 1)
        return optax.tree.bias_correction(mu, beta, step), ScaleByMomentumState(step, mu)

    return optax.GradientTransformation(
        lambda params: ScaleByMomentumState(jnp.zeros((), jnp.int32), _zeros(params)),
        update_fn)


def learning_rate(config: OptConfig) -> optax.Schedule:
    """0 -> lr linearly over `warmup` updates, then lr; the first update has rate 0."""
    constant = optax.constant_schedule(config.lr)
    if not config.warmup:
        return constant
    ramp = optax.linear_schedule(0.0, config.lr, config.warmup)
    return optax.join_schedules([ramp, constant], [config.warmup])


def make_optimizer(config: OptConfig) -> optax.GradientTransformation:
    return optax.chain(
        clip_by_agc(config.agc),
        scale_by_rms(config.beta2, config.eps),
        scale_by_momentum(config.beta1),
        optax.scale_by_learning_rate(learning_rate(config)),
    )


def apply(config: OptConfig, params: optax.Params, grads: optax.Updates,
          state: tuple) -> tuple[optax.Params, tuple]:
    """One update: the chain's updates added to the parameters (official `Optimizer`)."""
    updates, state = make_optimizer(config).update(grads, state, params)
    return optax.apply_updates(params, updates), state


def to_official_flat(state: tuple) -> dict[str, jax.Array]:
    """The chain state of a flat parameter dict as the official variables."""
    _, rms, momentum, schedule = state
    flat = {f"{PREFIX}/1/0": rms.step, f"{PREFIX}/2/0": momentum.step,
            f"{PREFIX}/3/count": schedule.count}
    flat.update({f"{PREFIX}/1/1/{k}": v for k, v in rms.nu.items()})
    flat.update({f"{PREFIX}/2/1/{k}": v for k, v in momentum.mu.items()})
    return flat


def _read(flat: Mapping[str, np.ndarray], key: str, shape: tuple[int, ...]) -> jax.Array:
    if key not in flat:
        raise KeyError(f"missing optimizer variable {key!r} (expected shape {shape})")
    value = jnp.asarray(flat[key])
    if value.shape != shape:
        raise ValueError(f"optimizer variable {key!r} has shape {value.shape}, expected {shape}")
    return value


def from_official_flat(flat: Mapping[str, np.ndarray], params: Mapping[str, jax.Array]) -> tuple:
    """The inverse of `to_official_flat` for the trained parameters `params` (flat dict);
    other entries of `flat` (parameters, other modules' variables) are ignored."""
    nu = {k: _read(flat, f"{PREFIX}/1/1/{k}", tuple(p.shape)) for k, p in params.items()}
    mu = {k: _read(flat, f"{PREFIX}/2/1/{k}", tuple(p.shape)) for k, p in params.items()}
    return (
        ClipByAgcState(),
        ScaleByRmsState(_read(flat, f"{PREFIX}/1/0", ()), nu),
        ScaleByMomentumState(_read(flat, f"{PREFIX}/2/0", ()), mu),
        optax.ScaleByScheduleState(count=_read(flat, f"{PREFIX}/3/count", ())),
    )
