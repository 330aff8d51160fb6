"""Hypothesis strategies for shared inputs: trajectories and logits.

Arrays are drawn by a numpy generator seeded from hypothesis, so every example is replayable
and shrinks over the shape and scale parameters that matter (batch, length, reward magnitude,
where episodes start and end).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

REWARD_SCALES = (1e-6, 1e-2, 1.0, 1e2, 1e4, 1e6)  # |r| from tiny to huge
TINY = 1e-30


@st.composite
def trajectories(draw, max_batch: int = 3, max_length: int = 16) -> dict[str, np.ndarray]:
    """Replayed steps in the official layout with episode starts, terminals and truncations
    (is_last without is_terminal) at arbitrary places; rewards arrive with observations. An
    episode's first observation is never its last (an episode has at least one transition),
    so every window holds a reward and a bootstrap that its returns read."""
    batch = draw(st.integers(1, max_batch))
    length = draw(st.integers(2, max_length))
    scale = draw(st.sampled_from(REWARD_SCALES))
    end_rate = draw(st.sampled_from([0.0, 0.1, 0.5]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (batch, length)
    is_last = rng.random(shape) < end_rate
    is_first = np.zeros(shape, bool)
    is_first[:, 0] = True
    for t in range(length):
        if t:
            is_first[:, t] = is_last[:, t - 1]
        is_last[:, t] &= ~is_first[:, t]
    is_terminal = is_last & (rng.random(shape) < 0.5)
    reward = (scale * rng.standard_normal(shape)).astype(np.float32)
    reward[is_first] = 0.0  # the first observation of an episode carries no reward
    value = (scale * rng.standard_normal(shape)).astype(np.float32)
    return dict(is_first=is_first, is_last=is_last, is_terminal=is_terminal,
                reward=reward, value=value)


@st.composite
def lambda_return_inputs(draw) -> dict:
    """Arguments of the official `lambda_return(last, term, rew, val, boot, disc, lam)`, in
    both of the ways the official agent calls it: replay (boolean last/term, bootstrap from
    imagination) and imagination (no last, soft term = 1 - continuation probability)."""
    traj = draw(trajectories())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    imagination = draw(st.booleans())
    if imagination:
        last = np.zeros_like(traj["reward"])
        term = rng.random(traj["reward"].shape).astype(np.float32)
        boot = traj["value"]
    else:
        last = traj["is_last"].astype(np.float32)
        term = traj["is_terminal"].astype(np.float32)
        # The bootstrap differs from the value at the value's own scale, so it never drowns
        # the rewards (a noise of 1 did at reward scale 1e-6).
        noise = np.abs(traj["value"]).max() * rng.standard_normal(traj["value"].shape)
        boot = (traj["value"] + noise).astype(np.float32)
    disc = draw(st.sampled_from([1.0, 1 - 1 / 333, 0.9]))
    lam = draw(st.sampled_from([0.0, 0.5, 0.95, 1.0]))
    return dict(last=last, term=term, rew=traj["reward"], val=traj["value"], boot=boot,
                disc=disc, lam=lam)


def magnitude(*arrays) -> float:
    """The scale float32 rounding is relative to: the largest input (at least TINY, so an
    all-zero example divides by something). No floor at 1: at reward scale 1e-6 a floor of 1
    made the absolute tolerance 1e-6 as large as the returns, and a one-step shift passed."""
    return max(TINY, *(float(np.abs(a).max()) for a in arrays))


@st.composite
def logits(draw, max_batch: int = 4, stoch: int | None = None, classes: int | None = None):
    """Logits [B, stoch, classes], from nearly uniform to nearly deterministic. Shapes come
    from a small set: each new shape costs both sides a compile."""
    batch = draw(st.sampled_from([1, max_batch]))
    stoch = stoch or draw(st.sampled_from([1, 4]))
    classes = classes or draw(st.sampled_from([2, 7]))
    spread = draw(st.sampled_from([1e-3, 1.0, 5.0, 30.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (spread * rng.standard_normal((batch, stoch, classes))).astype(np.float32)


def twohot_targets() -> st.SearchStrategy[np.ndarray]:
    """Scalar targets in raw space: zero, inside the bins, and far outside them (the outermost
    official bin is symexp(20) ~ 4.85e8)."""
    values = st.one_of(
        st.just(0.0),
        st.floats(-1e3, 1e3, width=32),
        st.sampled_from([1e6, -1e6, 4.85e8, 1e9, -1e9, 1e12, -3e38]),
    )
    return st.lists(values, min_size=1, max_size=8).map(lambda v: np.asarray(v, np.float32))
