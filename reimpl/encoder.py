"""Observations -> tokens: an MLP for vector keys and a CNN for image keys (rssm.py Encoder).

Parameter names: `mlp{i}`/`mlp{i}norm` for vectors, `cnn{i}`/`cnn{i}norm` for images.
"""

from __future__ import annotations

from collections.abc import Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp

from .config import EncoderConfig
from .nets import (
    Conv2D,
    Dtype,
    Linear,
    Norm,
    activation,
    dict_concat,
    freeze_mappings,
    symlog,
)
from .spaces import Space


def vector_keys(space: Mapping[str, Space]) -> list[str]:
    return [key for key, value in space.items() if len(value.shape) <= 2]


def image_keys(space: Mapping[str, Space]) -> list[str]:
    return [key for key, value in space.items() if len(value.shape) == 3]


class Encoder(nn.Module):
    """`obs_space` holds the sensory keys only (no reward, is_first, ...)."""

    obs_space: Mapping[str, Space]
    config: EncoderConfig
    dtype: Dtype = jnp.float32

    def __post_init__(self):
        freeze_mappings(self, "obs_space")
        super().__post_init__()

    @nn.compact
    def __call__(self, obs: Mapping[str, jax.Array], bdims: int = 2) -> jax.Array:
        """obs {key: [*batch, *shape]} with `bdims` batch dims -> tokens [*batch, D]."""
        if any(len(space.shape) > 3 for space in self.obs_space.values()):
            raise ValueError(f"encoder inputs have at most 3 dims, got {self.obs_space}")
        first = next(iter(self.obs_space))
        batch_shape = obs[first].shape[:bdims]
        outputs = []
        if vector_keys(self.obs_space):
            outputs.append(self._vectors(obs))
        if image_keys(self.obs_space):
            outputs.append(self._images(obs, bdims))
        x = jnp.concatenate(outputs, -1)  # [N, D]
        return x.reshape((*batch_shape, x.shape[-1]))

    def _vectors(self, obs: Mapping[str, jax.Array]) -> jax.Array:  # -> [N, units]
        config = self.config
        spaces = {key: self.obs_space[key] for key in vector_keys(self.obs_space)}
        squash = symlog if config.symlog else None
        x = dict_concat(spaces, {key: obs[key] for key in spaces}, self.dtype, squash)
        x = x.reshape((-1, x.shape[-1]))
        for i in range(config.layers):
            x = Linear(config.units, dtype=self.dtype, name=f"mlp{i}")(x)
            x = Norm(config.norm, dtype=self.dtype, name=f"mlp{i}norm")(x)
            x = activation(config.act)(x)
        return x

    def _images(self, obs: Mapping[str, jax.Array], bdims: int) -> jax.Array:  # -> [N, D]
        config = self.config
        images = [obs[key] for key in sorted(image_keys(self.obs_space))]
        if any(image.dtype != jnp.uint8 for image in images):
            raise TypeError(f"image observations must be uint8, got {[i.dtype for i in images]}")
        x = jnp.concatenate(images, -1).astype(self.dtype) / 255 - 0.5
        x = x.reshape((-1, *x.shape[bdims:]))  # [N, H, W, C]
        for i, mult in enumerate(config.mults):
            x = Conv2D(config.depth * mult, config.kernel, dtype=self.dtype, name=f"cnn{i}")(x)
            x = _max_pool_2x2(x)
            x = Norm(config.norm, dtype=self.dtype, name=f"cnn{i}norm")(x)
            x = activation(config.act)(x)
        return x.reshape((x.shape[0], -1))


def _max_pool_2x2(x: jax.Array) -> jax.Array:  # [N, H, W, C] -> [N, H/2, W/2, C]
    # Pooling by reshape (as the official Encoder does) needs even sides at every stage.
    batch, height, width, channels = x.shape
    if height % 2 or width % 2:
        raise ValueError(f"image side {height}x{width} is odd; the encoder halves it each stage")
    x = x.reshape((batch, height // 2, 2, width // 2, 2, channels))
    return x.max((2, 4))
