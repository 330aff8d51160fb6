"""Output heads: an MLP followed by a linear layer that parameterises a distribution.

Names follow `embodied/jax/heads.py`: `mlp/linear{i}`, `mlp/norm{i}`, then `head/<param>` for a
single output or `head/<key>/<param>` for a dict of spaces (the policy: `head/action/logits`).
"""

from __future__ import annotations

from collections.abc import Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp

from . import distributions as dists
from .config import HeadConfig
from .nets import MLP, Dtype, Linear, freeze_mappings, symlog
from .spaces import Space

OUTPUTS = ("binary", "categorical", "mse", "symlog_mse", "symexp_twohot", "bounded_normal")


def policy_output(space: Space) -> str:
    """configs.yaml `policy_dist_disc: categorical`, `policy_dist_cont: bounded_normal`."""
    return "categorical" if space.discrete else "bounded_normal"


class Head(nn.Module):
    space: Space
    output: str
    outscale: float = 1.0
    bins: int = 255
    minstd: float = 1.0
    maxstd: float = 1.0
    dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> dists.Output:  # [..., D]
        if self.output not in OUTPUTS:
            raise ValueError(f"unknown head output {self.output!r}; use one of {OUTPUTS}")
        x = x.astype(self.dtype)
        output = getattr(self, f"_{self.output}")(x)
        if self.space.shape:
            output = dists.Agg(output, len(self.space.shape))
        return output

    def _linear(self, name: str, units: tuple[int, ...], x: jax.Array) -> jax.Array:
        return Linear(units, outscale=self.outscale, dtype=self.dtype, name=name)(x)

    def _binary(self, x: jax.Array) -> dists.Output:
        return dists.Binary(self._linear("logit", self.space.shape, x))

    def _categorical(self, x: jax.Array) -> dists.Output:
        if not self.space.discrete:
            raise ValueError(f"categorical head needs a discrete space, got {self.space}")
        logits = self._linear("logits", (*self.space.shape, self.space.classes), x)
        # No unimix: the official Head.categorical ignores the policy's `unimix` setting
        # (upstream issue #219), and the parity target is the official code.
        return dists.Categorical(logits)

    def _mse(self, x: jax.Array) -> dists.Output:
        return dists.MSE(self._linear("pred", self.space.shape, x))

    def _symlog_mse(self, x: jax.Array) -> dists.Output:
        return dists.MSE(self._linear("pred", self.space.shape, x), symlog)

    def _symexp_twohot(self, x: jax.Array) -> dists.Output:
        logits = self._linear("logits", (*self.space.shape, self.bins), x)
        return dists.TwoHot(logits, dists.symexp_bins(self.bins))

    def _bounded_normal(self, x: jax.Array) -> dists.Output:
        mean = self._linear("mean", self.space.shape, x)
        stddev = self._linear("stddev", self.space.shape, x)
        return dists.bounded_normal(mean, stddev, self.minstd, self.maxstd)


class DictHead(nn.Module):
    """One Head per key, named by the key."""

    spaces: Mapping[str, Space]
    outputs: Mapping[str, str]
    outscale: float = 1.0
    bins: int = 255
    minstd: float = 1.0
    maxstd: float = 1.0
    dtype: Dtype = jnp.float32

    def __post_init__(self):
        freeze_mappings(self, "spaces", "outputs")
        super().__post_init__()

    @nn.compact
    def __call__(self, x: jax.Array) -> dict[str, dists.Output]:
        settings = dict(
            outscale=self.outscale,
            bins=self.bins,
            minstd=self.minstd,
            maxstd=self.maxstd,
            dtype=self.dtype,
        )
        return {
            key: Head(space, self.outputs[key], **settings, name=key)(x)
            for key, space in self.spaces.items()
        }


class MLPHead(nn.Module):
    """An MLP and a head; `space` may be one Space or a dict of them (the policy).

    `config.output == 'policy'` picks each action's output from its space.
    """

    space: Space | Mapping[str, Space]
    config: HeadConfig
    dtype: Dtype = jnp.float32

    def __post_init__(self):
        freeze_mappings(self, "space")
        super().__post_init__()

    @nn.compact
    def __call__(self, x: jax.Array, bdims: int) -> dists.Output | dict[str, dists.Output]:
        config = self.config
        x = x.reshape((*x.shape[:bdims], -1))  # [*batch, D]
        x = MLP(config.layers, config.units, config.act, config.norm, self.dtype, name="mlp")(x)
        settings = dict(
            outscale=config.outscale,
            bins=config.bins,
            minstd=config.minstd,
            maxstd=config.maxstd,
            dtype=self.dtype,
        )
        if isinstance(self.space, Mapping):
            outputs = {key: self._output(space) for key, space in self.space.items()}
            return DictHead(dict(self.space), outputs, **settings, name="head")(x)
        return Head(self.space, self._output(self.space), **settings, name="head")(x)

    def _output(self, space: Space) -> str:
        return policy_output(space) if self.config.output == "policy" else self.config.output
