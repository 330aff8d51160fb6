"""Features -> reconstruction distributions (rssm.py Decoder).

Images: `sp0` (block linear from deter) plus `sp1`/`sp2` (from stoch) give the smallest
feature map, then nearest-neighbour upsampling and `conv{i}` per stage, and `imgout` with a
sigmoid; the loss is a squared error summed over H, W, C. Vectors: `mlp` then `vec/<key>`.
Each upsampling and the convolution after it run as one convolution at the lower resolution
(`upsample_conv.py`: the same function and parameters, about a third of the multiply-adds).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from . import distributions as dists
from .config import DecoderConfig
from .encoder import image_keys, vector_keys
from .heads import DictHead
from .nets import MLP, BlockLinear, Dtype, Linear, Norm, activation, freeze_mappings
from .spaces import Space
from .upsample_conv import UpsampleConv2D


class Decoder(nn.Module):
    """`obs_space` holds the sensory keys only (no reward, is_first, ...)."""

    obs_space: Mapping[str, Space]
    config: DecoderConfig
    dtype: Dtype = jnp.float32

    def __post_init__(self):
        freeze_mappings(self, "obs_space")
        super().__post_init__()

    @nn.compact
    def __call__(self, feat: Mapping[str, jax.Array]) -> dict[str, dists.Output]:
        """feat {deter [*batch, deter], stoch [*batch, S, C]} -> {key: distribution}."""
        if feat["deter"].shape[-1] % self.config.bspace:
            raise ValueError(f"deter {feat['deter'].shape[-1]} must divide into bspace groups")
        batch_shape = feat["deter"].shape[:-1]
        deter = feat["deter"].astype(self.dtype)
        stoch = feat["stoch"].astype(self.dtype)
        stoch = stoch.reshape((*stoch.shape[:-2], -1))  # [*batch, S*C]
        recons = {}
        if vector_keys(self.obs_space):
            recons.update(self._vectors(deter, stoch, batch_shape))
        if image_keys(self.obs_space):
            recons.update(self._images(deter, stoch, batch_shape))
        return recons

    def _vectors(self, deter: jax.Array, stoch: jax.Array, batch_shape: tuple[int, ...]):
        config = self.config
        spaces = {key: self.obs_space[key] for key in vector_keys(self.obs_space)}
        continuous = "symlog_mse" if config.symlog else "mse"
        outputs = {k: "categorical" if s.discrete else continuous for k, s in spaces.items()}
        x = jnp.concatenate([stoch, deter], -1).reshape((math.prod(batch_shape), -1))
        x = MLP(config.layers, config.units, config.act, config.norm, self.dtype, name="mlp")(x)
        x = x.reshape((*batch_shape, x.shape[-1]))
        return DictHead(spaces, outputs, outscale=config.outscale, dtype=self.dtype, name="vec")(x)

    def _smallest_map(self, deter: jax.Array, stoch: jax.Array, shape: tuple[int, int, int]):
        """[N, deter], [N, S*C] -> [N, h, w, c]: a block linear of deter (each group fills
        its own channels) plus an MLP of stoch."""
        config, dtype = self.config, self.dtype
        height, width, _ = shape
        groups = config.bspace
        x0 = BlockLinear(math.prod(shape), groups, dtype=dtype, name="sp0")(deter)
        # einops '(g h w c) -> h w (g c)' of the official Decoder.
        x0 = x0.reshape((x0.shape[0], groups, height, width, -1))
        x0 = x0.transpose((0, 2, 3, 1, 4)).reshape((x0.shape[0], height, width, -1))
        x1 = Linear(2 * config.units, dtype=dtype, name="sp1")(stoch)
        x1 = activation(config.act)(Norm(config.norm, dtype=dtype, name="sp1norm")(x1))
        x1 = Linear(shape, dtype=dtype, name="sp2")(x1)
        return activation(config.act)(Norm(config.norm, dtype=dtype, name="spnorm")(x0 + x1))

    def _images(self, deter: jax.Array, stoch: jax.Array, batch_shape: tuple[int, ...]):
        config, dtype = self.config, self.dtype
        keys = image_keys(self.obs_space)
        depths = [config.depth * mult for mult in config.mults]
        factor = 2 ** len(depths)
        resolution = self.obs_space[keys[0]].shape[:-1]
        shape = (resolution[0] // factor, resolution[1] // factor, depths[-1])
        x = self._smallest_map(
            deter.reshape((-1, deter.shape[-1])), stoch.reshape((-1, stoch.shape[-1])), shape
        )
        for i in reversed(range(len(depths) - 1)):
            x = UpsampleConv2D(depths[i], config.kernel, dtype=dtype, name=f"conv{i}")(x)
            x = activation(config.act)(Norm(config.norm, dtype=dtype, name=f"conv{i}norm")(x))
        channels = sum(self.obs_space[key].shape[-1] for key in keys)
        x = UpsampleConv2D(channels, config.kernel, config.outscale, dtype, name="imgout")(x)
        x = x.reshape((*batch_shape, *x.shape[1:]))  # [*batch, H, W, C]
        # Channels are split in obs-space order, while the Encoder concatenates images in
        # sorted key order: the official code does both.
        split = np.cumsum([self.obs_space[key].shape[-1] for key in keys][:-1])
        return {
            key: image_distribution(image)
            for key, image in zip(keys, jnp.split(x, split, -1), strict=True)
        }


def image_distribution(logits: jax.Array) -> dists.Agg:
    """The image output from the last convolution's output [..., H, W, C]: a sigmoid, then a
    squared error summed over H, W, C (rssm.py Decoder: sigmoid, outs.MSE, outs.Agg)."""
    return dists.Agg(dists.MSE(jax.nn.sigmoid(logits)), 3)
