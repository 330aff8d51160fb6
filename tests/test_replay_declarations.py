"""The replay check (parity_tests/test_sequences.py) with declared conventions: a replay that
starts every sequence from the initial state passes without is_first on first steps when it
says so (and fails, pointing to the declaration, when it does not); a declared capacity makes
the stream wrap the replay, so a ring that joins its newest step to its oldest and a replay
that keeps more than it declares both fail (the early check, before either ring fills, passes).

Measured before the declarations: the initial-state replay failed ('512 sequences do not start
with is_first'); the ring of 2000 steps that samples in slot order passed (300 steps per env
never filled its 500 slots per env), as did a replay keeping more than it says.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from parity_tests import declarations

ROOT = Path(__file__).resolve().parents[1]

REPLAYS = '''
import numpy as np
from types import SimpleNamespace
from parity_tests.targets import reimpl_target

def _initial_state(stream, batch_size, length, key):
    batch = {k: np.array(v) for k, v in
             reimpl_target.replay_sequences(stream, batch_size, length, key).items()}
    batch["is_first"][:, 0] = False  # its world model starts each sequence from scratch
    return batch

def initial_state_declared():
    return SimpleNamespace(replay_sequences=_initial_state, replay_sequence_start="initial_state")

def initial_state_undeclared():
    return SimpleNamespace(replay_sequences=_initial_state)

def _ring(capacity, slot_order_bug):
    """One ring of capacity // envs slots per env, written in order. The bug: sequences taken
    in slot order, which is time order only until the ring wraps."""
    def sample(stream, batch_size, length, key):
        envs, steps = stream["is_first"].shape
        keep = capacity // envs
        kept = np.arange(max(0, steps - keep), steps)
        ring = {k: np.zeros((envs, keep, *np.shape(v)[2:]), np.asarray(v).dtype)
                for k, v in stream.items()}
        for k, v in stream.items():
            ring[k][:, kept % keep] = np.asarray(v)[:, kept]
        filled, oldest = min(steps, keep), (steps % keep if steps >= keep else 0)
        rng = np.random.default_rng(0)
        env = rng.integers(0, envs, batch_size)
        start = rng.integers(0, filled - length + 1, batch_size)
        if slot_order_bug:
            slots = start[:, None] + np.arange(length)
        else:
            slots = (oldest + start[:, None] + np.arange(length)) % keep
        batch = {k: v[env[:, None], slots] for k, v in ring.items()}
        batch["is_first"][:, 0] = True
        return batch
    return sample

def wrapping_ring():
    return SimpleNamespace(replay_sequences=_ring(2000, True), replay_capacity=2000)

def keeps_more_than_declared():
    return SimpleNamespace(replay_sequences=_ring(1200, False), replay_capacity=800)

def correct_ring():
    return SimpleNamespace(replay_sequences=_ring(2000, False), replay_capacity=2000)
'''


def run_check(tmp_path: Path, target: str) -> str:
    (tmp_path / "replays.py").write_text(REPLAYS)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "parity_tests/test_sequences.py", "--target", f"replays:{target}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return result.stdout + result.stderr


@pytest.mark.parametrize("target, outcome, message", [  # the file's two checks: early, full
    ("initial_state_declared", "2 passed", ""),
    ("initial_state_undeclared", "2 failed",
     "sequences do not start with is_first (an implementation that starts every replayed "
     "sequence from its initial state declares replay_sequence_start = 'initial_state')"),
    ("correct_ring", "2 passed", ""),
    ("wrapping_ring", "1 failed, 1 passed",
     "steps of a sequence are not consecutive in the stream"),
    ("keeps_more_than_declared", "1 failed, 1 passed",
     "sequences hold steps older than the declared capacity keeps (stream index < 100 per env)"),
], ids=["initial-state-declared", "initial-state-undeclared", "ring", "ring-joins-head",
        "keeps-more-than-declared"])
def test_replay_conventions(tmp_path, target, outcome, message):
    out = run_check(tmp_path, target)
    assert outcome in out and message in out, out[-3000:]


@pytest.mark.parametrize("attributes, message", [
    ({"replay_sequence_start": "zeros"}, "target.replay_sequence_start is 'zeros': one of "
                                         "'is_first', 'initial_state'"),
    ({"replay_capacity": 0}, "target.replay_capacity is 0: a positive int"),
    ({"replay_capacity": 1e6}, "target.replay_capacity is 1000000.0: a positive int"),
], ids=["unknown-start", "zero-capacity", "float-capacity"])
def test_bad_replay_declarations_name_the_fix(attributes, message):
    target = SimpleNamespace(**attributes)
    with pytest.raises(ValueError) as error:
        declarations.replay_sequence_start(target)
        declarations.replay_capacity(target)
    assert str(error.value).startswith(message)
