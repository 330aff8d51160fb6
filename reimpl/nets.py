"""Layers with the official parameter names, shapes, initialisers and numerics.

Parameters are stored in float32; every layer casts its input to `dtype` (the compute dtype
from the config) and its parameters to the input's dtype, as `embodied/jax/nets.py` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax.core import FrozenDict

from .spaces import Space

Dtype = Any

# Truncating a unit normal to [-2, 2] leaves a standard deviation of 0.8796; 1.1368 undoes
# that, so the kernel's variance is 1/fan_in (embodied/jax/nets.py Initializer).
_TRUNCATION_CORRECTION = 1.1368


def symlog(x: jax.Array) -> jax.Array:
    return jnp.sign(x) * jnp.log1p(jnp.abs(x))


def symexp(x: jax.Array) -> jax.Array:
    return jnp.sign(x) * jnp.expm1(jnp.abs(x))


def fan_in(shape: Sequence[int]) -> int:
    """The official `Initializer.compute_fans` fan-in: leading dims multiply the input dim, so
    a block kernel [blocks, in/blocks, out/blocks] has the full input size as its fan-in."""
    if len(shape) < 2:
        return 1
    return shape[-2] * math.prod(shape[:-2])


def truncated_normal_init(outscale: float = 1.0) -> Callable:
    def init(key: jax.Array, shape: Sequence[int], dtype: Dtype = jnp.float32) -> jax.Array:
        x = jax.random.truncated_normal(key, -2, 2, tuple(shape))
        x *= _TRUNCATION_CORRECTION * np.sqrt(1 / fan_in(shape))
        return x.astype(dtype) * outscale

    return init


def activation(name: str) -> Callable[[jax.Array], jax.Array]:
    """The official `nets.act`: a few custom names, otherwise the `jax.nn` function."""
    if name == "none":
        return lambda x: x
    if name == "mish":
        return lambda x: x * jnp.tanh(jax.nn.softplus(x))
    if name == "relu2":
        return lambda x: jnp.square(jax.nn.relu(x))
    function = getattr(jax.nn, name, None)
    if function is None:
        raise ValueError(
            f"unknown activation {name!r}; use 'none', 'mish', 'relu2' or a jax.nn name"
        )
    return function


def freeze_mappings(module: nn.Module, *names: str) -> None:
    """Replace dict fields with FrozenDicts (same order) so the module is hashable and can be
    a static argument of `jax.jit`. Call from `__post_init__` before flax's own."""
    for name in names:
        value = getattr(module, name)
        if isinstance(value, Mapping):
            object.__setattr__(module, name, FrozenDict(value))


def apply_mask(x: jax.Array, keep: jax.Array) -> jax.Array:
    """Zero the rows where `keep` is False; `keep` has x's leading dims."""
    keep = jnp.expand_dims(keep, tuple(range(keep.ndim, x.ndim)))
    return jnp.where(keep, x, jnp.zeros_like(x))


class Linear(nn.Module):
    units: int | tuple[int, ...]
    outscale: float = 1.0
    dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:  # [..., in] -> [..., *units]
        units = (self.units,) if isinstance(self.units, int) else tuple(self.units)
        size = math.prod(units)
        x = x.astype(self.dtype)
        kernel = self.param("kernel", truncated_normal_init(self.outscale), (x.shape[-1], size))
        bias = self.param("bias", nn.initializers.zeros_init(), (size,))
        x = x @ kernel.astype(x.dtype) + bias.astype(x.dtype)
        return x.reshape((*x.shape[:-1], *units))


class BlockLinear(nn.Module):
    """A block-diagonal linear layer: `blocks` independent linears on equal input slices."""

    units: int
    blocks: int
    outscale: float = 1.0
    dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:  # [..., in] -> [..., units]
        if self.units % self.blocks or x.shape[-1] % self.blocks:
            raise ValueError(
                f"BlockLinear {self.name!r}: units {self.units} and input size {x.shape[-1]} "
                f"must both divide into {self.blocks} blocks"
            )
        x = x.astype(self.dtype)
        block_in, block_out = x.shape[-1] // self.blocks, self.units // self.blocks
        shape = (self.blocks, block_in, block_out)
        kernel = self.param("kernel", truncated_normal_init(self.outscale), shape)
        bias = self.param("bias", nn.initializers.zeros_init(), (self.units,))
        x = x.reshape((*x.shape[:-1], self.blocks, block_in))  # [..., G, I]
        x = jnp.einsum("...ki,kio->...ko", x, kernel.astype(x.dtype))  # [..., G, O]
        x = x.reshape((*x.shape[:-2], self.units))
        return x + bias.astype(x.dtype)


class Conv2D(nn.Module):
    """Stride-1 SAME convolution on NHWC inputs with an HWIO kernel."""

    depth: int
    kernel: int
    outscale: float = 1.0
    dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:  # [N, H, W, C] -> [N, H, W, depth]
        x = x.astype(self.dtype)
        shape = (self.kernel, self.kernel, x.shape[-1], self.depth)
        kernel = self.param("kernel", truncated_normal_init(self.outscale), shape)
        bias = self.param("bias", nn.initializers.zeros_init(), (self.depth,))
        x = jax.lax.conv_general_dilated(
            x,
            kernel.astype(x.dtype),
            (1, 1),
            "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        return x + bias.astype(x.dtype)


class Norm(nn.Module):
    """RMS norm over the last axis, computed in float32 and cast back (or no norm)."""

    impl: str
    eps: float = 1e-4
    dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:  # [..., D]
        x = x.astype(self.dtype)
        if self.impl == "none":
            return x
        if self.impl != "rms":
            raise ValueError(f"Norm {self.name!r}: unknown impl {self.impl!r}; use 'rms' or 'none'")
        scale = self.param("scale", nn.initializers.ones_init(), (x.shape[-1],), jnp.float32)
        y = x.astype(jnp.float32)
        mean_square = jnp.square(y).mean(-1, keepdims=True)
        y = y * (jax.lax.rsqrt(mean_square + self.eps) * scale)
        return y.astype(x.dtype)


class MLP(nn.Module):
    """`layers` times linear -> norm -> activation, named linear{i} / norm{i}."""

    layers: int
    units: int
    act: str = "silu"
    norm: str = "rms"
    dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:  # [..., in] -> [..., units]
        shape = x.shape[:-1]
        x = x.astype(self.dtype).reshape((-1, x.shape[-1]))
        for i in range(self.layers):
            x = Linear(self.units, dtype=self.dtype, name=f"linear{i}")(x)
            x = Norm(self.norm, dtype=self.dtype, name=f"norm{i}")(x)
            x = activation(self.act)(x)
        return x.reshape((*shape, x.shape[-1]))


def _available(x: jax.Array, batch_dims: int) -> jax.Array:
    """False where a value marks a missing entry: -inf for floats, -1 for signed integers."""
    if jnp.issubdtype(x.dtype, jnp.floating):
        present = x != -jnp.inf
    elif jnp.issubdtype(x.dtype, jnp.signedinteger):
        present = x != -1
    else:
        present = jnp.ones(x.shape, bool)
    return present.reshape((*x.shape[:batch_dims], -1)).all(-1)


def dict_concat(
    spaces: Mapping[str, Space],
    values: Mapping[str, jax.Array],
    dtype: Dtype,
    squash: Callable[[jax.Array], jax.Array] | None = None,
) -> jax.Array:
    """Values as one flat vector per batch element, keys sorted: discrete ones one-hot (from
    integer class indices), the others squashed; missing entries become zeros
    (embodied/jax/nets.py DictConcat). -> [*batch, features]"""
    parts = []
    for key in sorted(spaces):
        space, x = spaces[key], values[key]
        batch_dims = x.ndim - len(space.shape)
        if batch_dims < 0 or x.shape[batch_dims:] != tuple(space.shape):
            raise ValueError(
                f"{key!r} has shape {x.shape}; expected [*batch, *{space.shape}]"
                + (" of integer class indices" if space.discrete else "")
            )
        present = _available(x, batch_dims)
        x = apply_mask(x, present)
        if space.discrete:
            x = jax.nn.one_hot(x.astype(jnp.int32), space.classes, dtype=dtype)
        else:
            x = (squash(x) if squash else x).astype(dtype)
        x = apply_mask(x, present)
        parts.append(x.reshape((*x.shape[:batch_dims], -1)))
    return jnp.concatenate(parts, -1)
