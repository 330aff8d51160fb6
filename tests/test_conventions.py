"""The suite's statement of the textbook index shift (parity_tests/conventions.py) against the
official `lambda_return`: a unit test of the suite, not a parity check (no target is involved).

Wrappers of textbook-indexed implementations can take the shift from conventions.py; this test
is what makes that safe: the shifted textbook return and advantage are the official ones.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from parity_tests import compare, conventions, strategies, tolerances
from parity_tests.conftest import _reference_or_fail
from parity_tests.test_returns import TOLERANCE, in_input_units
from reference_adapter import pieces


@pytest.fixture(scope="module")
def official():
    return _reference_or_fail()


@given(inputs=strategies.lambda_return_inputs())
def test_textbook_shift_gives_the_official_return_and_advantage(inputs, official):
    textbook = conventions.official_to_textbook(
        inputs["last"], inputs["term"], inputs["rew"], inputs["boot"], inputs["disc"],
        inputs["lam"])
    ours = conventions.textbook_lambda_return(**textbook)
    ref = pieces.lambda_return(**inputs)
    value = inputs["val"][:, :-1]
    comparison = compare.compare(
        {"ret": in_input_units(ours, inputs), "adv": in_input_units(ours - value, inputs)},
        {"ret": in_input_units(ref, inputs), "adv": in_input_units(ref - value, inputs)},
        tolerances.get(TOLERANCE))
    assert comparison.ok, comparison.summary()


def test_textbook_shift_reads_index_t_plus_one():
    """Textbook transition t -> t+1 reads official index t+1; official index 0 is never read."""
    last, term = np.array([[1.0, 0.0, 1.0]]), np.array([[1.0, 1.0, 0.0]])
    rew, boot = np.array([[9.0, 1.0, 2.0]]), np.array([[5.0, 6.0, 7.0]])
    textbook = conventions.official_to_textbook(last, term, rew, boot, 0.9, 0.5)
    np.testing.assert_array_equal(textbook["reward"], [[1.0, 2.0]])
    np.testing.assert_array_equal(textbook["discount"], [[0.0, 0.9]])
    np.testing.assert_array_equal(textbook["mixing"], [[0.5, 0.0]])
    np.testing.assert_array_equal(textbook["value"], boot)
