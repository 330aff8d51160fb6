"""Open-loop predictions, the official report's `openloop/<key>` video as a PNG.

As in the official agent.py `Agent.report`: a replayed batch (after the replay context) is
observed with the posterior for its first `context` steps (default T // 2); from the last
posterior state the prior imagines the remaining steps under the recorded actions; the decoder
reconstructs both parts. The picture shows, per sequence, three rows (true, predicted, error =
(predicted - true + 255) / 2, grey where exact) and one column per step; a green frame marks
observed steps, a red one imagined steps.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image

from .. import parameters
from .. import rssm as rssm_lib
from ..agent import Agent
from ..encoder import image_keys
from ..replay_context import apply_replay_context

SEQUENCES = 6  # official agent.py Agent.report: RB = min(6, B)
BORDER = 2  # pixels of the frame around each picture (official report)
OBSERVED, IMAGINED = (0, 255, 0), (255, 0, 0)


def openloop(
    agent: Agent,
    params: dict[str, jax.Array],
    data: dict[str, jax.Array],
    key: jax.Array,
    context: int | None = None,
    sample: bool = True,
) -> dict[str, jax.Array]:
    """params: the agent's flat parameters; data: a replayed batch {key: [B, K + T, ...]} (K =
    replay_context, as `replay.sample` returns it) -> {image key: uint8 [B, 3, T, H, W, C]},
    the rows true, predicted, error. Steps >= `context` are predicted from the first `context`
    steps and the actions alone."""
    model, config = agent.world_model, agent.config
    batch = data["is_first"].shape[0]
    carry = rssm_lib.initial_carry(config.rssm, batch)
    prevact = {k: jnp.zeros((batch, *s.shape), s.dtype) for k, s in agent.act_space.items()}
    carry, obs, prevact = apply_replay_context(
        data, carry, prevact, list(agent.obs_space), list(agent.act_space), config.replay_context)
    length = obs["is_first"].shape[1]
    context = length // 2 if context is None else context
    if not 0 < context < length:
        raise ValueError(f"context {context} must lie in 1..{length - 1} (sequence length "
                         f"{length} after the replay context)")
    observe_key, imagine_key = jax.random.split(key)
    modules = parameters.unflatten(params)  # {'enc': tree, 'dyn': tree, ...}
    tokens = model.encoder.apply({"params": modules["enc"]},
                                 {k: obs[k] for k in model.sensory_keys})
    first = jax.tree.map(lambda x: x[:, :context], (tokens, prevact, obs["is_first"]))
    carry, _, observed = rssm_lib.observe(model.rssm, modules["dyn"], carry, *first,
                                          observe_key, sample)
    later = {k: v[:, context:] for k, v in prevact.items()}
    _, imagined, _ = rssm_lib.imagine(model.rssm, modules["dyn"], carry, later,
                                      length - context, imagine_key, sample)
    feat = jax.tree.map(lambda a, b: jnp.concatenate([a, b], 1), observed, imagined)
    recons = model.decoder.apply({"params": modules["dec"]}, feat)
    return {k: _rows(obs[k], recons[k].pred()) for k in image_keys(model.obs_space)}


def _rows(true: jax.Array, pred: jax.Array) -> jax.Array:
    """uint8 true [B, T, H, W, C], float pred in [0, 1] -> uint8 [B, 3, T, H, W, C]."""
    pred = jnp.clip(pred * 255, 0, 255).astype(jnp.uint8)
    error = ((pred.astype(jnp.int32) - true.astype(jnp.int32) + 255) // 2).astype(jnp.uint8)
    return jnp.stack([true, pred, error], 1)


def grid(video: np.ndarray, context: int) -> np.ndarray:
    """uint8 [B, 3, T, H, W, C] -> one picture [B * 3 * (H + 2b), T * (W + 2b), 3] (b =
    BORDER): rows true / predicted / error per sequence, columns time, each step framed green
    if observed (t < context) and red if imagined."""
    video = np.asarray(video)
    batch, rows, length, height, width, channels = video.shape
    if video.dtype != np.uint8 or rows != 3 or channels not in (1, 3):
        raise ValueError(f"expected uint8 [B, 3, T, H, W, 1 or 3], got {video.dtype} "
                         f"{video.shape}")
    video = np.broadcast_to(video, (*video.shape[:-1], 3))
    framed = np.zeros((batch, rows, length, height + 2 * BORDER, width + 2 * BORDER, 3),
                      np.uint8)
    framed[:, :, :context] = OBSERVED
    framed[:, :, context:] = IMAGINED
    framed[..., BORDER:-BORDER, BORDER:-BORDER, :] = video
    # [B, 3, T, H', W', 3] -> [B, 3, H', T, W', 3] -> rows (B, 3, H'), columns (T, W').
    framed = framed.transpose(0, 1, 3, 2, 4, 5)
    return framed.reshape(batch * rows * framed.shape[2], length * framed.shape[4], 3)


def write_png(path: Path, picture: np.ndarray) -> None:
    """uint8 [H, W, 3] -> PNG at `path`, parent directories created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(picture, np.uint8)).save(path)
