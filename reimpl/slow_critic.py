"""The slow critic: an EMA copy of the value head (official embodied/jax/utils.py
SlowModel.update, called once per train step after the optimizer update)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def update_slow(slow: dict, source: dict, count: jax.Array, rate: float, every: int):
    """Mix `rate` of the source into the slow copy on every `every`-th call; count + 1."""
    mix = jnp.where(count % every == 0, rate, 0.0)
    slow = jax.tree.map(lambda s, d: mix * s + (1 - mix) * d, source, slow)
    return slow, count + 1
