"""The official optimizer chain (embodied/jax/opt.py, dreamerv3/agent.py `_make_opt`):
adaptive gradient clipping, RMS scaling with bias correction, momentum with bias correction,
then the learning rate with a linear warmup from 0.

The chain runs on the flat dict of trained parameters keyed by official name, so its state
flattens to exactly the official variable names (`opt/state/1/1/dyn/dynin0/kernel`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .config import OptConfig

PREFIX = "opt/state"


def clip_by_agc(clip: float, pmin: float = 1e-3) -> optax.GradientTransformation:
    """Scale each parameter's update down to at most `clip` times the parameter's norm."""

    def update(updates, state, params):
        def clip_one(param, grad):
            upper = clip * jnp.maximum(pmin, jnp.linalg.norm(param.ravel()))
            return grad / jnp.maximum(1.0, jnp.linalg.norm(grad.ravel()) / upper)

        return jax.tree.map(clip_one, params, updates), state

    return optax.GradientTransformation(lambda params: (), update)


def _zeros(params):
    return jax.tree.map(lambda p: jnp.zeros_like(p, jnp.float32), params)


def scale_by_rms(beta: float, eps: float) -> optax.GradientTransformation:
    """Divide by the bias-corrected root of an EMA of squared gradients; state (step, nu)."""

    def update(updates, state, params=None):
        step, nu = state
        step = optax.safe_int32_increment(step)
        nu = jax.tree.map(lambda v, g: beta * v + (1 - beta) * g * g, nu, updates)
        nu_hat = optax.tree.bias_correction(nu, beta, step)
        return jax.tree.map(lambda g, v: g / (jnp.sqrt(v) + eps), updates, nu_hat), (step, nu)

    return optax.GradientTransformation(
        lambda params: (jnp.zeros((), jnp.int32), _zeros(params)), update)


def scale_by_momentum(beta: float) -> optax.GradientTransformation:
    """Bias-corrected EMA of the updates (not Nesterov); state (step, mu)."""

    def update(updates, state, params=None):
        step, mu = state
        step = optax.safe_int32_increment(step)
        mu = jax.tree.map(lambda m, g: beta * m + (1 - beta) * g, mu, updates)
        return optax.tree.bias_correction(mu, beta, step), (step, mu)

    return optax.GradientTransformation(
        lambda params: (jnp.zeros((), jnp.int32), _zeros(params)), update)


def learning_rate(config: OptConfig) -> optax.Schedule:
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


def to_official_flat(state) -> dict[str, np.ndarray]:
    """The chain state as the official flat variables (`opt/state/1/0`, ...)."""
    _, (rms_step, nu), (momentum_step, mu), schedule = state
    flat = {f"{PREFIX}/1/0": rms_step, f"{PREFIX}/2/0": momentum_step,
            f"{PREFIX}/3/count": schedule.count}
    flat.update({f"{PREFIX}/1/1/{k}": v for k, v in nu.items()})
    flat.update({f"{PREFIX}/2/1/{k}": v for k, v in mu.items()})
    return flat


def from_official_flat(flat: Mapping[str, np.ndarray], params: Mapping[str, jax.Array]):
    """The inverse of `to_official_flat` for the trained parameters `params`."""
    nu = {k: jnp.asarray(flat[f"{PREFIX}/1/1/{k}"]) for k in params}
    mu = {k: jnp.asarray(flat[f"{PREFIX}/2/1/{k}"]) for k in params}
    schedule = optax.ScaleByScheduleState(count=jnp.asarray(flat[f"{PREFIX}/3/count"]))
    return ((), (jnp.asarray(flat[f"{PREFIX}/1/0"]), nu),
            (jnp.asarray(flat[f"{PREFIX}/2/0"]), mu), schedule)
