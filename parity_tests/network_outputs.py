"""Network outputs for the architecture-free checks: what heads emit during training.

A target with its own networks cannot take the official weights, but everything downstream of
its heads is a function of their outputs. These are outputs at the operating point's scale
(parity_tests/operating_point.py): imagined rewards mostly ~0 with occasional +1 (Crafter's
achievements), continuation probabilities of 0.8-1 with a few near-terminal steps, values and
slow values as two-hot bumps around symlog 1.5 (~3.5) that differ by ~0.3, policy logits of
unit scale, actions sampled from the policy.
"""

from __future__ import annotations

import numpy as np

from parity_tests.operating_point import TWOHOT_SIGMA, twohot_symlog_positions

NUM_BINS = 255
IMAG_HORIZON = 16  # H + 1 steps: the official imag_length 15 plus the start state


def _twohot_logits(rng, centres):
    positions = twohot_symlog_positions(NUM_BINS)
    logits = -((positions - centres[..., None]) ** 2) / (2 * TWOHOT_SIGMA**2)
    return (logits + 0.3 * rng.standard_normal(logits.shape)).astype(np.float32)


def imagination(num_actions: int, trajectories: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs of `imag_loss`, [N, H+1] (logits [N, H+1, classes]), and the replayed flags of
    the states imagination starts from, [N]: the official reads none of them, a target that
    weights its starts from data does."""
    rng = np.random.default_rng(seed)
    shape = (trajectories, IMAG_HORIZON)
    logits = rng.standard_normal((*shape, num_actions)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    action = (probs.cumsum(-1) > rng.random((*shape, 1))).argmax(-1).astype(np.int32)
    reward = 0.1 * rng.standard_normal(shape) + (rng.random(shape) < 0.1)
    con = 1 / (1 + np.exp(-rng.normal(3.0, 1.0, shape)))
    con = np.where(rng.random(shape) < 0.03, 0.05, con)
    values = rng.normal(1.5, 0.5, shape)
    return {
        "action": action, "policy_logits": logits, "reward": reward.astype(np.float32),
        "con": con.astype(np.float32), "value_logits": _twohot_logits(rng, values),
        "slowvalue_logits": _twohot_logits(rng, values + rng.normal(0.0, 0.3, shape)),
        **_start_flags(rng, trajectories),
    }


def _start_flags(rng, trajectories: int) -> dict[str, np.ndarray]:
    """is_first, is_last, is_terminal of each start state as a replayed batch has them: an
    episode's last step is its terminal one half of the time, the next one its first."""
    is_last = rng.random(trajectories) < 0.2
    return {"start_is_first": rng.random(trajectories) < 0.2, "start_is_last": is_last,
            "start_is_terminal": is_last & (rng.random(trajectories) < 0.5)}


def replay(batch: dict, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs of `repl_loss` from a replayed batch [B, K] (official layout): its flags and
    rewards, imagined returns as the bootstrap, value outputs."""
    rng = np.random.default_rng(seed)
    shape = batch["reward"].shape
    values = rng.normal(1.5, 0.5, shape)
    boot = (np.sign(values) * np.expm1(np.abs(values))).astype(np.float32)
    result = {
        "is_last": batch["is_last"], "is_terminal": batch["is_terminal"],
        "reward": batch["reward"].astype(np.float32), "boot": boot,
        "value_logits": _twohot_logits(rng, values),
        "slowvalue_logits": _twohot_logits(rng, values + rng.normal(0.0, 0.3, shape)),
    }
    return {**result, **_imagined_from_each_step(rng, boot)}


def _imagined_from_each_step(rng, boot: np.ndarray) -> dict[str, np.ndarray]:
    """What the imagination started from each replayed step computed, [B, K, H] and
    [B, K, H+1]: its lambda returns (`imagined_ret`, the first being `boot`, the bootstrap the
    official reads) and the critic's values along it (`imagined_value`, decoded). The
    official reads only `boot`; a target that bootstraps from another imagined quantity (the
    return or value of the imagined successor) reads it here."""
    steps = IMAG_HORIZON - 1
    drift = np.cumsum(rng.normal(0.0, 0.2, (*boot.shape, steps)), -1)
    ret = (boot[..., None] * np.exp(-0.05 * np.arange(steps)) + drift).astype(np.float32)
    ret[..., 0] = boot  # exactly
    value = ret[..., :1] + rng.normal(0.0, 0.3, (*boot.shape, IMAG_HORIZON))
    return {"imagined_ret": ret, "imagined_value": value.astype(np.float32)}


def world_model(batch: dict, stoch: int, classes: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Head outputs for the world-model terms of a replayed batch [B, T] (official layout):
    decoder outputs near the logit of each pixel, reward logits peaked near each reward,
    continuation logits that mostly know the terminals, and prior logits at ~0.9 (per logit)
    from the posterior's, which puts the KL sums on both sides of free nats."""
    rng = np.random.default_rng(seed)
    shape = batch["reward"].shape
    pixels = np.clip(batch["image"] / 255.0, 0.02, 0.98)
    image_logits = np.log(pixels / (1 - pixels)) + 0.5 * rng.standard_normal(pixels.shape)
    reward_centres = np.sign(batch["reward"]) * np.log1p(np.abs(batch["reward"]))
    con_logit = np.where(batch["is_terminal"], -3.0, 3.0) + rng.standard_normal(shape)
    post = rng.standard_normal((*shape, stoch, classes))
    return {
        "image": batch["image"], "reward": batch["reward"].astype(np.float32),
        "is_first": batch["is_first"], "is_last": batch["is_last"],
        "is_terminal": batch["is_terminal"], "image_logits": image_logits.astype(np.float32),
        "reward_logits": _twohot_logits(rng, reward_centres + rng.normal(0.0, 0.3, shape)),
        "con_logit": con_logit.astype(np.float32),
        "post_logits": post.astype(np.float32),
        "prior_logits": (post + 0.9 * rng.standard_normal(post.shape)).astype(np.float32),
    }
