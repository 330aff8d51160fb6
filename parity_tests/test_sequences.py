"""[BUG]: replayed sequences mark every episode start they contain.

The official replay stores each step's `is_first` and hands sequences over with it, plus
`is_first` on each sequence's first step (embodied/core/replay.py, `_annotate_batch`): the
world model resets its state exactly there. The check writes a stream of episodes of random
lengths into the target's replay, with each step's episode id and stream index stored beside
it, and samples sequences: an id change must come with `is_first`, `is_first` with an id
change or the sequence start, and consecutive steps must be consecutive in the stream.

Declarations (docs/TARGETS.md): a target that starts every replayed sequence from its initial
state (`replay_sequence_start = "initial_state"`) needs no `is_first` on a sequence's first
step, and is not asked for one. A target that states its `replay_capacity` (steps kept, all
envs together) gets a stream of 1.5 times it (up to MAX_STEPS per env), so its ring wraps and
evicts, and every sampled step must be among the last `capacity` written.

Early sampling: the same contract when each env has written only LENGTH + 1 steps (the official
replay then holds two sequences per env), so a sampler that reads slots nothing was written to
before its buffer fills (the full-buffer check above never samples that early) is seen.
"""

from __future__ import annotations

import math

import jax
import numpy as np

from parity_tests import declarations

ENVS, STEPS, BATCH, LENGTH = 4, 300, 512, 16
MAX_STEPS = 25_000  # per env: a larger declared capacity is not filled


def stream_steps(capacity: int | None) -> int:
    """Steps per env: STEPS, or 1.5x the declared capacity's share so the replay wraps."""
    if capacity is None:
        return STEPS
    return min(MAX_STEPS, max(STEPS, math.ceil(1.5 * capacity / ENVS)))


def _stream(seed: int, steps: int = STEPS) -> dict[str, np.ndarray]:
    """Episodes of 1 to 40 steps back to back in each env, in the official step layout."""
    rng = np.random.default_rng(seed)
    episode = np.zeros((ENVS, steps), np.float32)
    is_first = np.zeros((ENVS, steps), bool)
    for env in range(ENVS):
        start, count = 0, 0
        while start < steps:
            length = int(rng.integers(1, 41))
            episode[env, start:start + length] = env * 100_000 + count
            is_first[env, start] = True
            start, count = start + length, count + 1
    is_last = np.concatenate([is_first[:, 1:], np.zeros((ENVS, 1), bool)], 1)
    return {
        "episode": episode, "index": np.tile(np.arange(steps, dtype=np.float32), (ENVS, 1)),
        "is_first": is_first, "is_last": is_last, "is_terminal": is_last & (rng.random(
            (ENVS, steps)) < 0.5), "reward": rng.standard_normal((ENVS, steps)).astype(np.float32),
    }


def _violations(batch: dict, sequence_start: str = "is_first", oldest: int = 0) -> list[str]:
    """What breaks the official contract; `oldest`: the first stream index still retained."""
    episode, index = np.asarray(batch["episode"]), np.asarray(batch["index"])
    is_first = np.asarray(batch["is_first"])
    changed = episode[:, 1:] != episode[:, :-1]
    problems = []
    if sequence_start == "is_first" and not is_first[:, 0].all():
        problems.append(f"{int((~is_first[:, 0]).sum())} sequences do not start with is_first "
                        "(an implementation that starts every replayed sequence from its "
                        "initial state declares replay_sequence_start = 'initial_state')")
    if (changed & ~is_first[:, 1:]).any():
        problems.append(f"{int((changed & ~is_first[:, 1:]).sum())} episode starts inside "
                        "sequences without is_first")
    if (~changed & is_first[:, 1:]).any():
        problems.append(f"{int((~changed & is_first[:, 1:]).sum())} is_first inside episodes")
    if (index[:, 1:] != index[:, :-1] + 1).any():
        problems.append("steps of a sequence are not consecutive in the stream")
    if (index < oldest).any():
        problems.append(f"{int((index < oldest).any(1).sum())} sequences hold steps older than "
                        f"the declared capacity keeps (stream index < {oldest} per env)")
    return problems


def test_sequences_sampled_early_hold_written_steps_only(target, parity):
    check = "replay/sequences/early"
    steps = LENGTH + 1
    description = (f"{BATCH} sampled sequences of {LENGTH} steps when each of {ENVS} envs has "
                   f"written {steps} steps: consecutive written steps, is_first as above")
    fn = parity.piece(target, "replay_sequences", check, "BUG", description)
    capacity = declarations.replay_capacity(target)
    oldest = max(0, steps - capacity // ENVS) if capacity else 0
    batch = fn(_stream(1, steps), BATCH, LENGTH, jax.random.key(1))
    problems = _violations(batch, declarations.replay_sequence_start(target), oldest)
    parity.verdict(check, "BUG", description, not problems, "; ".join(problems),
                   f"every sampled step written, {steps} per env stored")


def test_sequences_mark_every_episode_start(target, parity):
    check = "replay/sequences/is_first"
    description = (f"{BATCH} sampled sequences of {LENGTH} steps from {ENVS} envs of random "
                   "episodes: is_first exactly at episode starts and sequence starts")
    fn = parity.piece(target, "replay_sequences", check, "BUG", description)
    start = declarations.replay_sequence_start(target)
    capacity = declarations.replay_capacity(target)
    steps = stream_steps(capacity)
    oldest = max(0, steps - (capacity // ENVS if capacity else steps))
    batch = fn(_stream(0, steps), BATCH, LENGTH, jax.random.key(0))
    problems = _violations(batch, start, oldest)
    episode = np.asarray(batch["episode"])
    boundaries = int((episode[:, 1:] != episode[:, :-1]).sum())
    measured = f"{boundaries} episode starts inside sequences, all marked"
    if start == "initial_state":
        measured += "; sequence starts from the initial state (declared), not asked for is_first"
    if capacity:
        wrapped = steps * ENVS > capacity
        measured += (f"; {steps * ENVS} steps written into a replay of {capacity} "
                     + ("(wrapped), every sampled step among the retained"
                        if wrapped else "(not filled: larger than the stream)"))
    parity.verdict(check, "BUG", description, not problems and boundaries > 0,
                   "; ".join(problems) or "no episode boundary was sampled: the check saw nothing",
                   measured)
