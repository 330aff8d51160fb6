"""[BUG]: replayed sequences mark every episode start they contain.

The official replay stores each step's `is_first` and hands sequences over with it, plus
`is_first` on each sequence's first step (embodied/core/replay.py, `_annotate_batch`): the
world model resets its state exactly there. The check writes a stream of episodes of random
lengths into the target's replay, with each step's episode id and stream index stored beside
it, and samples sequences: an id change must come with `is_first`, `is_first` with an id
change or the sequence start, and consecutive steps must be consecutive in the stream.
"""

from __future__ import annotations

import jax
import numpy as np

ENVS, STEPS, BATCH, LENGTH = 4, 300, 512, 16


def _stream(seed: int) -> dict[str, np.ndarray]:
    """Episodes of 1 to 40 steps back to back in each env, in the official step layout."""
    rng = np.random.default_rng(seed)
    episode = np.zeros((ENVS, STEPS), np.float32)
    is_first = np.zeros((ENVS, STEPS), bool)
    for env in range(ENVS):
        start, count = 0, 0
        while start < STEPS:
            length = int(rng.integers(1, 41))
            episode[env, start:start + length] = env * 1000 + count
            is_first[env, start] = True
            start, count = start + length, count + 1
    is_last = np.concatenate([is_first[:, 1:], np.zeros((ENVS, 1), bool)], 1)
    return {
        "episode": episode, "index": np.tile(np.arange(STEPS, dtype=np.float32), (ENVS, 1)),
        "is_first": is_first, "is_last": is_last, "is_terminal": is_last & (rng.random(
            (ENVS, STEPS)) < 0.5), "reward": rng.standard_normal((ENVS, STEPS)).astype(np.float32),
    }


def _violations(batch: dict) -> list[str]:
    episode, index = np.asarray(batch["episode"]), np.asarray(batch["index"])
    is_first = np.asarray(batch["is_first"])
    changed = episode[:, 1:] != episode[:, :-1]
    problems = []
    if not is_first[:, 0].all():
        problems.append(f"{int((~is_first[:, 0]).sum())} sequences do not start with is_first")
    if (changed & ~is_first[:, 1:]).any():
        problems.append(f"{int((changed & ~is_first[:, 1:]).sum())} episode starts inside "
                        "sequences without is_first")
    if (~changed & is_first[:, 1:]).any():
        problems.append(f"{int((~changed & is_first[:, 1:]).sum())} is_first inside episodes")
    if (index[:, 1:] != index[:, :-1] + 1).any():
        problems.append("steps of a sequence are not consecutive in the stream")
    return problems


def test_sequences_mark_every_episode_start(target, parity):
    check = "replay/sequences/is_first"
    description = (f"{BATCH} sampled sequences of {LENGTH} steps from {ENVS} envs of random "
                   "episodes: is_first exactly at episode starts and sequence starts")
    fn = parity.piece(target, "replay_sequences", check, "BUG", description)
    batch = fn(_stream(0), BATCH, LENGTH, jax.random.key(0))
    problems = _violations(batch)
    episode = np.asarray(batch["episode"])
    boundaries = int((episode[:, 1:] != episode[:, :-1]).sum())
    parity.verdict(check, "BUG", description, not problems and boundaries > 0,
                   "; ".join(problems) or "no episode boundary was sampled: the check saw nothing",
                   f"{boundaries} episode starts inside sequences, all marked")
