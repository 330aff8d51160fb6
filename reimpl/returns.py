"""Lambda returns in the official convention: reward[t] arrives WITH observation t.

R[t] = rew[t+1] + disc * (1 - term[t+1]) * ((1 - lam_t) * boot[t+1] + lam_t * R[t+1]),
lam_t = lam * (1 - last[t+1]), R[T-1] = boot[T-1]; returned for t = 0..T-2.
`last` cuts the lambda mixing at a truncation: the return falls back to the bootstrap there.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _lambda_return_step(next_return: jax.Array, inputs) -> tuple[jax.Array, jax.Array]:
    reward, live, mix, bootstrap = inputs  # each [B]
    value = reward + live * ((1 - mix) * bootstrap + mix * next_return)
    return value, value


def lambda_return(
    last: jax.Array, term: jax.Array, rew: jax.Array, val: jax.Array, boot: jax.Array,
    disc: float, lam: float,
) -> jax.Array:
    """Inputs [B, T] -> returns [B, T-1]. `val` is accepted for the official signature; the
    official recursion bootstraps only from `boot`."""
    del val
    f32 = jnp.float32
    live = (1 - jnp.asarray(term, f32)[:, 1:]) * disc  # [B, T-1]
    mix = (1 - jnp.asarray(last, f32)[:, 1:]) * lam
    rew, boot = jnp.asarray(rew, f32), jnp.asarray(boot, f32)
    inputs = jax.tree.map(lambda x: x.T, (rew[:, 1:], live, mix, boot[:, 1:]))  # [T-1, B]
    _, returns = jax.lax.scan(_lambda_return_step, boot[:, -1], inputs, reverse=True)
    return returns.T
