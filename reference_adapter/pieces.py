"""Official pieces that are pure functions of their inputs, callable without an agent.

Pieces that read weights or normaliser state (heads, RSSM, Normalize, imag_loss, repl_loss)
run through `OfficialAgent.apply` with the agent's variables instead.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from .loader import load


@functools.cache
def _jitted_lambda_return():
    return jax.jit(load().agent.lambda_return, static_argnums=(5, 6))


def lambda_return(last, term, rew, val, boot, disc: float, lam: float) -> np.ndarray:
    """`dreamerv3.agent.lambda_return`: inputs [B, T], returns [B, T-1]."""
    args = [np.asarray(x, np.float32) for x in (last, term, rew, val, boot)]
    return np.asarray(_jitted_lambda_return()(*args, float(disc), float(lam)))


def twohot(logits, num_bins: int):
    """The official two-hot output (`outs.TwoHot`) over the official symexp bins, built by
    the official `Head.symexp_twohot` from the given logits (its linear layer is the identity)."""
    return _twohot_head(num_bins)(np.asarray(logits, np.float32))


@functools.cache
def _twohot_head(num_bins: int):
    official = load()
    nj = official.ninjax

    def build(logits):
        space = official.elements.Space(np.float32, ())
        head = official.heads.Head(space, "symexp_twohot", bins=num_bins, name="twohot")
        return head(logits)

    identity = {
        "twohot/logits/kernel": np.eye(num_bins, dtype=np.float32),
        "twohot/logits/bias": np.zeros(num_bins, np.float32),
    }

    def run(logits):
        _, output = nj.pure(build)(identity, logits)
        return output

    return run
