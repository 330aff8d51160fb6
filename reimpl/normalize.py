"""Return normalisation: EMA of the 5th and 95th return percentiles (official
`embodied/jax/utils.py` Normalize), as pure functions on an explicit state."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from .config import NormalizeConfig

stop_gradient = jax.lax.stop_gradient


@struct.dataclass
class NormalizeState:
    lo: jax.Array  # [] EMA of the low percentile ('perc') or of the mean ('meanstd')
    hi: jax.Array  # [] EMA of the high percentile ('perc') or of the mean square ('meanstd')
    corr: jax.Array  # [] EMA of 1, for debiasing


def init_normalize() -> NormalizeState:
    zero = jnp.zeros((), jnp.float32)
    return NormalizeState(lo=zero, hi=zero, corr=zero)


def update_normalize(
    state: NormalizeState, x: jax.Array, config: NormalizeConfig
) -> NormalizeState:
    if config.impl == "none":
        return state
    x = stop_gradient(x.astype(jnp.float32))
    if config.impl == "perc":
        lo, hi = jnp.percentile(x, config.perclo), jnp.percentile(x, config.perchi)
    elif config.impl == "meanstd":
        lo, hi = x.mean(), jnp.square(x).mean()
    else:
        raise ValueError(f"unknown normaliser {config.impl!r}; use 'perc', 'meanstd' or 'none'")

    def ema(old, new):
        return (1 - config.rate) * old + config.rate * new

    corr = ema(state.corr, 1.0) if config.debias else state.corr
    return NormalizeState(lo=ema(state.lo, lo), hi=ema(state.hi, hi), corr=corr)


def normalize_stats(
    state: NormalizeState, config: NormalizeConfig
) -> tuple[jax.Array | float, jax.Array | float]:
    """(offset, scale); the scale is floored at `limit`. 'none' is (0, 1)."""
    if config.impl == "none":
        return 0.0, 1.0
    corr = 1.0 / jnp.maximum(config.rate, state.corr) if config.debias else 1.0
    if config.impl == "meanstd":
        mean = state.lo * corr
        std = jnp.sqrt(jax.nn.relu(state.hi * corr - mean**2))
        return mean, jnp.maximum(config.limit, std)
    lo, hi = state.lo * corr, state.hi * corr
    return stop_gradient(lo), stop_gradient(jnp.maximum(config.limit, hi - lo))
