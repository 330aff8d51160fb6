"""The slow critic: a moving-average copy of the value head (official embodied/jax/utils.py
`SlowModel.update`). The official agent calls it once per train step, after the optimizer
update, so it mixes in the freshly updated parameters."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def update_slow(
    slow_params: dict, params: dict, count: jax.Array, rate: float, every: int
) -> tuple[dict, jax.Array]:
    """Mix `rate` of `params` into `slow_params` when count % every == 0 (the first call
    mixes); returns the new slow parameters and count + 1."""
    if not (rate == 1 or rate < 0.5):
        raise ValueError(f"slow critic rate must be 1 or below 0.5 (official SlowModel), "
                         f"got {rate}")
    mix = jnp.where(count % every == 0, rate, 0.0)
    slow_params = jax.tree.map(
        lambda source, slow: mix * source + (1 - mix) * slow, params, slow_params)
    return slow_params, count + 1
