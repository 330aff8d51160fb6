"""The benchmarked workload: Craftax-like spaces and the inputs both sides receive.

Spaces: a 64x64x3 uint8 image (Craftax-Classic pixels after the 63->64 pad, see
reimpl/train/envs.py) and 17 discrete actions. Both sides get the very same arrays, built once
per size: a train batch in the official replay layout and a policy observation.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from reference_adapter.batches import example_batch
from reimpl.config import AgentConfig
from reimpl.spaces import Space, discrete_act_space, image_obs_space

IMAGE_SIZE = 64
NUM_ACTIONS = 17


def spaces() -> tuple[dict[str, Space], dict[str, Space]]:
    return image_obs_space(IMAGE_SIZE), discrete_act_space(NUM_ACTIONS)


def _numpy_space(space: Space) -> SimpleNamespace:
    """`example_batch` compares dtypes with numpy types; reimpl spaces hold dtype names."""
    return SimpleNamespace(shape=space.shape, dtype=np.dtype(space.dtype),
                           discrete=space.discrete, classes=space.classes)


def train_batch(config: AgentConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """[B, replay_context + batch_length] random steps in the official replay layout, so each
    side trains on batch_size x batch_length steps after the context (official replay length
    `batch_length + replay_context`). The same builder `OfficialAgent.example_batch` uses;
    this path needs no official code, so the reimpl side runs without it."""
    obs_space, act_space = spaces()
    rssm = config.rssm
    entries = {"dyn/deter": (rssm.deter,), "dyn/stoch": (rssm.stoch, rssm.classes)}
    return example_batch(
        {k: _numpy_space(s) for k, s in obs_space.items()},
        {k: _numpy_space(s) for k, s in act_space.items()},
        entries if config.replay_context else {},
        config.batch_size, config.batch_length + config.replay_context, seed)


def policy_obs(num_envs: int, seed: int = 0) -> dict[str, np.ndarray]:
    """One observation per env, mid-episode (`is_first` False: the carry is used)."""
    rng = np.random.default_rng(seed)
    false = np.zeros(num_envs, bool)
    return {
        "image": rng.integers(0, 256, (num_envs, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8),
        "reward": rng.normal(0, 1, num_envs).astype(np.float32),
        "is_first": false, "is_last": false, "is_terminal": false,
    }
