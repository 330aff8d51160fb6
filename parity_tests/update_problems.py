"""Inputs for the update-rule checks (parity_tests/test_update_rules.py), seeded: parameters,
gradients, critic trajectories and returns built so that every part of each rule moves the
result, whatever the architecture behind it.

The optimizer's gradients run through the official warmup and past it, and each leaf sits in
another regime of the official chain: a kernel whose gradient norm is around the adaptive clip
(0.3 of its parameter norm, clipped on about half the updates), one well inside it, a zero bias
at the clip's floor (pmin: always clipped), a zero bias with gradients of 1e-9 (where the RMS
scaling's epsilon decides the step: 1e-8 halves it, the official 1e-20 does not), and a kernel
with a persistent gradient direction under noise (momentum and its debiasing). Each update's
gradient scale is drawn anew, so clipping, the second moment and the momentum each see another
sequence than a constant factor would give.
"""

from __future__ import annotations

import numpy as np

PAST_WARMUP = 24  # updates checked after the warmup ends
# name: (shape, parameter std (0: zeros), gradient scale, clip regime: gradient norm over
# 0.3 x max(1e-3, parameter norm) when a number, else the gradient std)
OPTIMIZER_LEAVES = {
    "enc/conv0/kernel": ((3, 3, 4, 8), 0.2, ("clip", 1.0)),
    "dyn/core/kernel": ((16, 24), 0.5, ("clip", 0.15)),
    "rew/out/bias": ((255,), 0.0, ("std", 1e-9)),
    "pol/out/bias": ((17,), 0.0, ("std", 1e-2)),
    "val/out/kernel": ((32, 5), 0.1, ("clip", 0.3)),
}
REGIMES = {
    "enc/conv0/kernel": "gradient norm around the adaptive clip",
    "dyn/core/kernel": "gradient well inside the clip",
    "rew/out/bias": "gradients of 1e-9, where the RMS epsilon decides the step",
    "pol/out/bias": "zero bias clipped at the clip's floor pmin",
    "val/out/kernel": "persistent gradient direction: momentum and its debiasing",
}
DRIFT = 0.5  # share of a leaf's gradient along a fixed direction (the rest noise)


def optimizer_problem(warmup: int, seed: int = 0) -> tuple[dict, dict]:
    """(params {name: [...]}, grads {name: [K, ...]}) over K = warmup + PAST_WARMUP updates."""
    rng = np.random.default_rng(seed)
    steps = warmup + PAST_WARMUP
    params, grads = {}, {}
    for name, (shape, std, (regime, size)) in OPTIMIZER_LEAVES.items():
        param = rng.standard_normal(shape) * std if std else np.zeros(shape)
        direction = rng.standard_normal(shape)
        noise = rng.standard_normal((steps, *shape))
        raw = DRIFT * direction + (1 - DRIFT) * noise
        if regime == "clip":
            upper = 0.3 * max(1e-3, float(np.linalg.norm(param)))
            norms = np.linalg.norm(raw.reshape(steps, -1), axis=1)
            target = size * upper * np.exp(0.7 * rng.standard_normal(steps))
            raw = raw * (target / norms).reshape(-1, *[1] * len(shape))
        else:
            raw = raw * size * np.exp(0.5 * rng.standard_normal(steps)).reshape(
                -1, *[1] * len(shape))
        params[name] = param.astype(np.float32)
        grads[name] = raw.astype(np.float32)
    return params, grads


SLOW_STEPS = 12
SLOW_LEAVES = {"out/kernel": (8, 16), "out/bias": (16,), "h0/kernel": (16, 8)}


def slow_critic_problem(seed: int = 0) -> tuple[dict, dict]:
    """(slow {name: [...]}, online {name: [K, ...]}): a slow critic away from the online one,
    and the online critic after each of K updates (a random walk, each step 0.1 of its size)."""
    rng = np.random.default_rng(seed)
    slow, online = {}, {}
    for name, shape in SLOW_LEAVES.items():
        slow[name] = rng.standard_normal(shape).astype(np.float32)
        start = slow[name] + 0.5 * rng.standard_normal(shape)
        walk = start + np.cumsum(0.1 * rng.standard_normal((SLOW_STEPS, *shape)), axis=0)
        online[name] = walk.astype(np.float32)
    return slow, online


def loss_terms(names, batch: int, length: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Per-element loss terms [B, T] (`repval` [B, T-1]) of different sizes per term."""
    rng = np.random.default_rng(seed)
    return {name: (rng.uniform(0.0, 4.0, (batch, length - (name == "repval")))
                   * 10.0 ** rng.uniform(-1, 1)).astype(np.float32) for name in sorted(names)}


RETURN_STEPS = 40
RETURN_SHAPE = (16, 15)  # imagined trajectories x horizon


def returns_problem(seed: int = 0) -> np.ndarray:
    """Return batches [K, N, H], one per update: their spread grows from 0.05 to 50 (under and
    over the official limit of 1), their centre drifts, and each holds a few outliers so the
    percentiles are not the extremes."""
    rng = np.random.default_rng(seed)
    spread = np.geomspace(0.05, 50.0, RETURN_STEPS).reshape(-1, 1, 1)
    centre = np.cumsum(rng.standard_normal(RETURN_STEPS)).reshape(-1, 1, 1)
    values = rng.standard_normal((RETURN_STEPS, *RETURN_SHAPE))
    outliers = rng.random(values.shape) < 0.02
    values = np.where(outliers, values * 8.0, values)
    return (centre + spread * values).astype(np.float32)
