"""The time-index diagnosis names a shifted dependency pattern as a time index and anything
else as a plain difference (parity_tests/test_time_index.py)."""

from __future__ import annotations

import numpy as np

from parity_tests.test_time_index import diagnose


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
