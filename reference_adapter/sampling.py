"""Sampling modes for the official agent.

Every discrete draw in the official agent (posterior and prior latents through
`outs.OneHot`, discrete actions through `outs.Categorical`) goes through
`outs.Categorical.sample`; continuous actions go through `outs.Normal.sample`. In the
deterministic mode both return the mode instead (argmax of the unimixed logits, the mean).
`OneHot._onehot_with_grad` wraps the returned index in the straight-through estimator as
before, so gradients keep their official form. The patch is applied only while tracing inside
`deterministic_sampling()` and is always undone.
"""

from __future__ import annotations

import contextlib
import threading

import jax.numpy as jnp

from .loader import load

_LOCK = threading.Lock()


def _categorical_mode(self, seed, shape=()):
    del seed
    index = jnp.argmax(self.logits, -1)
    return jnp.broadcast_to(index, shape + index.shape)


def _normal_mode(self, seed, shape=()):
    del seed
    return jnp.broadcast_to(self.mean, shape + self.mean.shape)


@contextlib.contextmanager
def deterministic_sampling(enabled: bool = True):
    """Replace every random draw in the official agent with the mode while active."""
    if not enabled:
        yield
        return
    outs = load().outs
    with _LOCK:
        saved = outs.Categorical.sample, outs.Normal.sample
        outs.Categorical.sample, outs.Normal.sample = _categorical_mode, _normal_mode
        try:
            yield
        finally:
            outs.Categorical.sample, outs.Normal.sample = saved
