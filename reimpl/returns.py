"""Lambda returns (official dreamerv3/agent.py `lambda_return`) and the textbook-indexed form.

Official convention: `rew[t]` arrived WITH observation t (the transition t-1 -> t); `term[t]` and
`last[t]` mark observation t. The return from observation t reads index t+1:

    R[t] = rew[t+1] + live[t+1] * ((1 - mix[t+1]) * boot[t+1] + mix[t+1] * R[t+1])
    live = disc * (1 - term),  mix = lam * (1 - last),  R[T-1] = boot[T-1]

for t = 0..T-2, so inputs [B, T] give returns [B, T-1]. A truncation (`last` without `term`)
cuts the lambda mixing: the return falls back to the bootstrap there.

Textbook convention: `reward[t]`, `term[t]`, `last[t]` belong to the action taken at t (the
transition t -> t+1), and `value` has one more entry than the transitions. The documented shift
onto the official arrays is

    rew[t+1] = reward[t],  term[t+1] = term[t],  last[t+1] = last[t],  boot[t] = value[t]

with official index 0 never read, so `lambda_return_textbook` prepends one column and calls
`lambda_return`: both conventions go through the same recursion.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

float32 = jnp.float32


def _check_same_shape(**arrays: jax.Array) -> None:
    shapes = {name: tuple(jnp.shape(x)) for name, x in arrays.items()}
    if len(set(shapes.values())) != 1 or len(next(iter(shapes.values()))) != 2:
        raise ValueError(f"expected equal [B, T] shapes, got {shapes}")


def _lambda_return_step(
    following: jax.Array, inputs: tuple[jax.Array, jax.Array]
) -> tuple[jax.Array, jax.Array]:
    intermediate, carried = inputs  # [B] each
    # Same operation order as the official loop, so float32 results agree to the last bit.
    current = intermediate + carried * following
    return current, current


def lambda_return(
    last: jax.Array,  # [B, T] observation t ends the episode (terminal or truncated)
    term: jax.Array,  # [B, T] observation t is terminal (may be a probability)
    rew: jax.Array,  # [B, T] reward that arrived with observation t
    val: jax.Array,  # [B, T] accepted for the official signature; only its shape is checked
    boot: jax.Array,  # [B, T] bootstrap value of observation t
    disc: float,
    lam: float,
) -> jax.Array:  # [B, T-1] return from observation t
    _check_same_shape(last=last, term=term, rew=rew, val=val, boot=boot)
    rew, boot = jnp.asarray(rew, float32), jnp.asarray(boot, float32)
    live = (1 - jnp.asarray(term, float32))[:, 1:] * disc  # [B, T-1]
    cont = (1 - jnp.asarray(last, float32))[:, 1:] * lam  # [B, T-1]
    intermediate = rew[:, 1:] + (1 - cont) * live * boot[:, 1:]  # [B, T-1]
    carried = live * cont  # [B, T-1]
    _, returns = jax.lax.scan(
        _lambda_return_step, boot[:, -1], (intermediate.T, carried.T), reverse=True
    )  # [T-1, B]
    return returns.T


def lambda_return_textbook(
    last: jax.Array,  # [B, T] the transition t -> t+1 ends the episode (terminal or truncated)
    term: jax.Array,  # [B, T] the transition t -> t+1 ends in a terminal observation
    rew: jax.Array,  # [B, T] reward for the action taken at t
    boot: jax.Array,  # [B, T+1] value of observation t, the last one only bootstraps
    disc: float,
    lam: float,
) -> jax.Array:  # [B, T] return from observation t
    _check_same_shape(last=last, term=term, rew=rew)
    batch, length = jnp.shape(rew)
    if tuple(jnp.shape(boot)) != (batch, length + 1):
        raise ValueError(
            f"boot must hold one value more than the transitions: expected "
            f"{(batch, length + 1)}, got {tuple(jnp.shape(boot))}"
        )

    def shift(x: jax.Array) -> jax.Array:  # [B, T] -> [B, T+1]; index 0 is never read
        x = jnp.asarray(x, float32)
        return jnp.concatenate([jnp.zeros_like(x[:, :1]), x], 1)

    boot = jnp.asarray(boot, float32)
    return lambda_return(shift(last), shift(term), shift(rew), boot, boot, disc, lam)
