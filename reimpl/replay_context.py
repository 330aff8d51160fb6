"""Replay context: start a replayed chunk from the RSSM state stored when it was collected.

With `replay_context` K > 0 every replayed sequence carries K extra leading steps, and the
replay stores the RSSM entries (`dyn/deter`, `dyn/stoch`) the policy computed for each step.
A chunk that starts a new sampled sequence (`consec[:, 0] == 0`) takes its initial carry from
the stored entries at step K-1 and trains on steps K..; a continuing chunk uses the carry of
the previous train step instead (official agent.py `_apply_replay_context`).
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp


def _where(condition: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.where(condition.reshape(condition.shape + (1,) * (x.ndim - 1)), x, y)


def apply_replay_context(
    data: Mapping[str, jax.Array],
    carry: dict[str, jax.Array],
    prevact: Mapping[str, jax.Array],
    obs_keys: list[str],
    act_keys: list[str],
    context: int,
) -> tuple[dict[str, jax.Array], dict[str, jax.Array], dict[str, jax.Array]]:
    """data {key: [B, T, ...]}; carry {deter, stoch: [B, ...]}; prevact {key: [B, ...]} the
    action before the chunk. Returns (carry, obs [B, T-K, ...], prevact [B, T-K, ...])."""
    obs = {key: data[key] for key in obs_keys}
    # The action stored at step t was chosen after observing t: it precedes step t+1.
    shifted = {
        key: jnp.concatenate([prevact[key][:, None], data[key][:, :-1]], 1) for key in act_keys
    }
    if not context:
        return carry, obs, shifted
    stored = {"deter": data["dyn/deter"][:, context - 1],
              "stoch": data["dyn/stoch"][:, context - 1]}
    first_chunk = data["consec"][:, 0] == 0  # [B]
    carry = {key: _where(first_chunk, stored[key], carry[key]) for key in carry}
    obs = {key: value[:, context:] for key, value in obs.items()}
    prevact = {key: value[:, context:] for key, value in shifted.items()}
    return carry, obs, prevact
