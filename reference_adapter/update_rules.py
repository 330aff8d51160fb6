"""The official update rules on given parameters, gradients and returns: no network involved.

What happens to the parameters after the gradients are taken is a function of parameters and
gradients, not of the architecture: the optimizer chain (`Agent._make_opt`: adaptive gradient
clipping, RMS scaling, momentum, the learning rate with its warmup) as `embodied.jax.Optimizer`
applies it, the slow critic's moving average (`embodied.jax.SlowModel.update`, called once per
train step after the optimizer update), the total loss the optimizer minimises (`Agent.loss`:
each term's mean times its scale, `Agent.scales`) and the return normaliser
(`embodied.jax.Normalize`, updated once per train step by `imag_loss`). Each runs here unchanged
on inputs given from outside, in flat dicts of float32 arrays keyed by any parameter names.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .loader import load

# Settings of `_make_opt` its code branches on in Python (static); the rest may be traced.
_STATIC_OPT = ("agc", "warmup", "schedule", "anneal", "wd", "wdregex", "momentum", "nesterov")


def _float32(tree):
    return jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), tree)


@functools.cache
def _optimizer_program(static: tuple):
    official = load()

    def run(params, grads, traced):
        chain = official.agent.Agent._make_opt(None, **dict(static), **traced)

        def step(carry, grad):
            params, state = carry
            updates, state = chain.update(grad, state, params)
            params = optax.apply_updates(params, updates)
            return (params, state), params

        _, trajectory = jax.lax.scan(step, (params, chain.init(params)), grads)
        return trajectory

    return jax.jit(run)


def optimizer_steps(opt: dict, params: dict, grads: dict) -> dict[str, np.ndarray]:
    """The official optimizer chain with settings `opt` (the config's `opt` block) from its
    initial state: `grads` {name: [K, ...]} are the gradients of K successive updates of
    `params` {name: [...]}; returns {name: [K, ...]}, the parameters after each update."""
    static = tuple(sorted((k, v) for k, v in opt.items() if k in _STATIC_OPT))
    traced = {k: jnp.asarray(v, jnp.float32) for k, v in opt.items() if k not in _STATIC_OPT}
    out = _optimizer_program(static)(_float32(params), _float32(grads), traced)
    return jax.tree.map(np.asarray, out)


@functools.cache
def _slow_step(rate: float, every: int):
    """One official slow-critic update as its own program, given the online critic after the
    optimizer's update (rate and cadence are Python values `SlowModel` checks: each setting
    compiles anew, and one step compiles fast)."""
    official = load()
    nj = official.ninjax

    class Holder(nj.Module):
        """A stand-in for a network: a module whose values are the given ones."""

    def impure(online):
        source, model = Holder(name="val"), Holder(name="slowval")
        slow = official.utils.SlowModel(model, source=source, rate=rate, every=every)
        for name in source.values:
            source.write(name, online[name])
        slow.update()
        return dict(model.values)

    pure = nj.pure(impure)
    return jax.jit(lambda state, online: pure(state, online, create=True))


def slow_critic_steps(slowvalue: dict, slow: dict, online: dict) -> dict[str, np.ndarray]:
    """The official slow critic with settings `slowvalue` ({rate, every}) from count 0:
    `slow` {name: [...]} its parameters before the first update, `online` {name: [K, ...]} the
    online critic after each of K optimizer updates; returns {name: [K, ...]}, the slow critic
    after each update (`SlowModel.update` once per train step, after the optimizer's)."""
    step = _slow_step(float(slowvalue["rate"]), int(slowvalue["every"]))
    online = _float32(online)
    steps = len(next(iter(online.values())))
    state = {**{f"val/{k}": v[0] for k, v in online.items()},
             **{f"slowval/{k}": v for k, v in _float32(slow).items()}}
    trajectory = []
    for k in range(steps):
        state, values = step(state, {name: value[k] for name, value in online.items()})
        trajectory.append(values)
    return {name: np.stack([np.asarray(t[name]) for t in trajectory]) for name in trajectory[0]}


@functools.cache
def _normaliser_step(settings: tuple):
    """One official update of the normaliser as its own program (the settings are Python
    values the module checks, so each setting compiles anew: one small step compiles in a
    fraction of what K unrolled steps take, which matters when a setting is fitted)."""
    official = load()

    def impure(returns):
        norm = official.utils.Normalize(**dict(settings), name="retnorm")
        offset, scale = norm(returns, update=True)
        return {"lo": norm.lo.read(), "hi": norm.hi.read(),
                "offset": jnp.asarray(offset, jnp.float32),
                "scale": jnp.asarray(scale, jnp.float32)}

    pure = official.ninjax.pure(impure)
    return jax.jit(lambda state, returns: pure(state, returns, create=True))


def return_normaliser(retnorm: dict, returns) -> dict[str, np.ndarray]:
    """The official return normaliser (`Normalize` with the config's `retnorm` block, impl
    'perc') from its initial state, updated with `returns` [K, ...] one batch per train step:
    {lo, hi: its state, offset, scale: the stats `imag_loss` divides advantages by} [K]."""
    step = _normaliser_step(tuple(sorted(retnorm.items())))
    state, out = {}, []
    for batch in jnp.asarray(returns, jnp.float32):
        state, stats = step(state, batch)
        out.append(stats)
    return {k: np.stack([np.asarray(o[k]) for o in out]) for k in out[0]}


def total_loss(scales: dict, terms: dict) -> float:
    """The scalar the official optimizer minimises (`Agent.loss`): the sum over terms of each
    term's mean times its scale (`Agent.scales`: `rec` for every decoded key)."""
    if set(terms) != set(scales):
        raise ValueError(f"loss terms {sorted(terms)} are not the official {sorted(scales)}")
    return float(sum(np.mean(np.asarray(terms[k], np.float32), dtype=np.float32) * np.float32(
        scales[k]) for k in sorted(terms)))
