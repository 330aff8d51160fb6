"""The time-index diagnosis names a shifted dependency pattern as a time index and anything
else as a plain difference (parity_tests/time_patterns.py)."""

from __future__ import annotations

import numpy as np

from parity_tests.time_patterns import diagnose, diagnose_entry


def _official(steps=6):
    """Official returns: reward[t] reaches ret[s] for s < t (rewards arrive with the next
    observation), one trajectory."""
    t, s = np.meshgrid(np.arange(steps), np.arange(steps - 1), indexing="ij")
    return (s < t)[None]


def test_equal_patterns_agree():
    assert diagnose(_official(), _official(), "reward", "ret")[0]


def test_textbook_rewards_are_a_time_index_bug():
    official = _official()
    t, s = np.meshgrid(np.arange(6), np.arange(5), indexing="ij")
    textbook = (s <= t)[None]  # reward[t] already counts for ret[t]
    agrees, tag, detail = diagnose(textbook, official, "reward", "ret")
    assert not agrees and tag == "BUG"
    assert "official reward[t+1]" in detail


def test_missing_dependency_is_not_called_a_time_index():
    agrees, tag, detail = diagnose(np.zeros_like(_official()), _official(), "con", "weight")
    assert not agrees and tag == "TOCHECK"
    assert "not a time shift" in detail


def _recurrent(steps=8, reset=4, offset=1):
    """A recurrent state over inputs 0..steps-1, outputs at input steps offset..steps-1:
    input t reaches every output at or after it, up to the episode start at `reset`."""
    t, s = np.meshgrid(np.arange(steps), np.arange(offset, steps), indexing="ij")
    resets = np.zeros((1, steps), bool)
    resets[0, reset] = True
    official = ((t <= s) & ((t >= reset) | (s < reset)))[None]
    return official, resets


def test_dependencies_across_an_episode_start_are_a_missed_reset():
    official, resets = _recurrent()
    t, s = np.meshgrid(np.arange(8), np.arange(1, 8), indexing="ij")
    never_reset = (t <= s)[None]
    agrees, tag, detail = diagnose(never_reset, official, "image", "losses", resets, offset=1)
    assert not agrees and tag == "BUG"
    assert detail.startswith("missed reset: image[0] reaches losses at step 4")
    assert "episode start at step 4" in detail


def test_extra_dependencies_within_an_episode_are_not_a_missed_reset():
    official, resets = _recurrent()
    within = official.copy()
    within[0, 5, 0] = True  # input 5 reaching output step 1: no episode start between
    agrees, tag, _ = diagnose(within, official, "image", "losses", resets, offset=1)
    assert not agrees and tag == "TOCHECK"


def _carry(steps=5, outputs=4, read=0):
    """A stored state read at entry `read` only: it reaches every output of the chunk."""
    pattern = np.zeros((2, steps, outputs), bool)
    pattern[:, read] = True
    return pattern


def test_a_state_read_from_the_next_entry_is_a_time_index_bug():
    agrees, tag, detail = diagnose_entry(_carry(read=1), _carry(), "dyn/deter", "the losses")
    assert not agrees and tag == "BUG"
    assert "entry 1 where the official reads entry 0" in detail and "1 step(s) late" in detail


def test_a_state_never_read_is_not_called_a_time_index():
    agrees, tag, detail = diagnose_entry(np.zeros_like(_carry()), _carry(), "dyn/deter",
                                         "the losses")
    assert not agrees and tag == "TOCHECK"
    assert "entry 0 misses" in detail


def test_the_same_entry_agrees():
    assert diagnose_entry(_carry(read=2), _carry(read=2), "dyn/deter", "the losses")[0]
