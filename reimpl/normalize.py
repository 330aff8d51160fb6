"""Return normalisation (official embodied/jax/utils.py `Normalize`) as pure functions.

'perc': exponential moving averages (rate `rate`) of the `perclo`/`perchi` percentiles over all
elements; stats are (lo, max(limit, hi - lo)). 'meanstd': moving averages of the mean and the
mean square; stats are (mean, max(limit, std)). 'none': (0, 1).

With `debias`, a third average `corr` tracks the constant 1 from 0, and stats divide by
max(rate, corr): the zero-initialised averages are scaled up while they are young.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from .config import NormalizeConfig

stop_gradient = jax.lax.stop_gradient
IMPLS = ("perc", "meanstd", "none")


@struct.dataclass
class NormalizeState:
    lo: jax.Array  # [] average low percentile ('perc') or mean ('meanstd'; official `mean`)
    hi: jax.Array  # [] average high percentile ('perc') or mean square ('meanstd'; `sqrs`)
    corr: jax.Array  # [] average of 1 (official `corr`, only kept with debias)


def init() -> NormalizeState:
    zero = jnp.zeros((), jnp.float32)
    return NormalizeState(lo=zero, hi=zero, corr=zero)


def _check(config: NormalizeConfig) -> None:
    if config.impl not in IMPLS:
        raise ValueError(f"unknown normaliser impl {config.impl!r}; choose one of {IMPLS}")


def _average(old: jax.Array, new: jax.Array | float, rate: float) -> jax.Array:
    # Same operation order as the official Normalize._update.
    return (1 - rate) * old + rate * stop_gradient(new)


def update(state: NormalizeState, x: jax.Array, config: NormalizeConfig) -> NormalizeState:
    """One moving-average step on every element of `x` (any shape)."""
    _check(config)
    if config.impl == "none":
        return state
    x = stop_gradient(jnp.asarray(x, jnp.float32))
    if config.impl == "perc":
        low, high = jnp.percentile(x, config.perclo), jnp.percentile(x, config.perchi)
    else:
        low, high = x.mean(), jnp.square(x).mean()
    corr = _average(state.corr, 1.0, config.rate) if config.debias else state.corr
    return NormalizeState(
        lo=_average(state.lo, low, config.rate),
        hi=_average(state.hi, high, config.rate),
        corr=corr,
    )


def stats(
    state: NormalizeState, config: NormalizeConfig
) -> tuple[jax.Array | float, jax.Array | float]:
    """(offset, scale). 'perc' stops gradients; 'meanstd' does not (neither does the official,
    whose state is never differentiated anyway)."""
    _check(config)
    if config.impl == "none":
        return 0.0, 1.0
    corr = 1.0 / jnp.maximum(config.rate, state.corr) if config.debias else 1.0
    if config.impl == "meanstd":
        mean = state.lo * corr
        std = jnp.sqrt(jax.nn.relu(state.hi * corr - mean**2))
        return mean, jnp.maximum(config.limit, std)
    low, high = state.lo * corr, state.hi * corr
    return stop_gradient(low), stop_gradient(jnp.maximum(config.limit, high - low))


def normalize(
    state: NormalizeState, x: jax.Array, config: NormalizeConfig, training: bool
) -> tuple[NormalizeState, tuple[jax.Array | float, jax.Array | float]]:
    """Update when training, then read the stats (official `Normalize.__call__`)."""
    state = update(state, x, config) if training else state
    return state, stats(state, config)
