"""The returns check says why it failed where the suite knows (parity_tests/test_returns.py):
which returns differ, grouped by what ends the steps each reads (a truncation, a terminal,
nothing), the cause when only truncations are involved, and the failing example's key facts.

`conventions.episode_end_read` is proved against the official `lambda_return` itself: taking
is_last for a terminal changes exactly the returns it says read a truncation, bit for bit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given

from parity_tests import conventions, strategies
from parity_tests.conftest import _reference_or_fail
from reference_adapter import pieces

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def official():
    return _reference_or_fail()


@given(inputs=strategies.lambda_return_inputs())
def test_only_returns_that_read_a_truncation_see_is_last_as_terminal(inputs, official):
    as_terminal = pieces.lambda_return(**{**inputs, "term": np.maximum(inputs["term"],
                                                                       inputs["last"])})
    ref = pieces.lambda_return(**inputs)
    ends = conventions.episode_end_read(inputs["last"], inputs["term"], inputs["lam"])
    untouched = ends != "truncation"
    np.testing.assert_array_equal(as_terminal[untouched], ref[untouched])


def test_last_step_read_follows_the_episode_end():
    last = np.array([[0, 0, 1, 0, 1, 0]], bool)
    np.testing.assert_array_equal(conventions.last_step_read(last, 0.95), [[2, 2, 4, 4, 5]])
    np.testing.assert_array_equal(conventions.last_step_read(last, 0.0), [[1, 2, 3, 4, 5]])
    term = np.array([[0, 0, 1, 0, 0, 0]])
    np.testing.assert_array_equal(conventions.episode_end_read(last, term, 0.95), [[
        "terminal", "terminal", "truncation", "truncation", "none"]])


TARGETS = '''
import numpy as np
from types import SimpleNamespace
from reimpl import returns

def is_last_as_terminal():
    def fn(last, term, **kw):
        return returns.lambda_return(last=last, term=np.maximum(term, last), **kw)
    return SimpleNamespace(lambda_return=fn)

def reward_one_step_early():
    def fn(rew, **kw):
        return returns.lambda_return(rew=np.concatenate([rew[:, :1], rew[:, :-1]], 1), **kw)
    return SimpleNamespace(lambda_return=fn)
'''


def _failure(tmp_path: Path, target: str) -> str:
    (tmp_path / "returns_targets.py").write_text(TARGETS)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]),
           "PARITY_HYPOTHESIS_PROFILE": "ci"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "parity_tests/test_returns.py", "--target", f"returns_targets:{target}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert "1 failed" in run.stdout, run.stdout[-3000:] + run.stderr[-2000:]
    return run.stdout


def test_a_truncation_taken_for_a_terminal_is_named(tmp_path):
    out = _failure(tmp_path, "is_last_as_terminal")
    assert "differs only where it reads a truncation (is_last without is_terminal)" in out, out
    assert "differing: " in out and " returns reading a truncation" in out, out
    assert "example: replay, batch x length" in out and "truncations (is_last only) at [" in out


def test_another_mistake_shows_its_example_without_blaming_truncations(tmp_path):
    out = _failure(tmp_path, "reward_one_step_early")
    assert "only where it reads a truncation" not in out, out
    assert "first differing R[" in out and "example: " in out, out
