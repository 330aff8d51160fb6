"""The returns check (parity_tests/test_returns.py) has power in every example it draws.

A lambda return that reads an input one step early, the textbook/official confusion, must fail
the check's own comparison (its tolerance, in its units) for EACH example of its strategy, not
for most: then its verdict on such a mistake cannot depend on which examples a hypothesis
profile draws (ci and mutants derandomize, dev draws at random; all draw 50). Two variants,
both visible in every example by construction of the strategy: the reward one step early
(R[t] = rew[t] + ..., and an episode's first observation, the only one with reward 0, is
never its last, so rew[T-1] and rew[T-2] are never both 0), and every input one step early.

Measured over 2000 examples (derandomized): both variants fail the check in 2000 of 2000. A
shift of the bootstrap alone (the mutant `returns-shifted`) fails it in 1958: where every row
ends in a terminal and lam = 1 without truncations, no bootstrap is read at all.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from parity_tests import compare, strategies, tolerances
from parity_tests.conftest import _reference_or_fail
from parity_tests.test_returns import TOLERANCE, in_input_units
from reference_adapter import pieces


@pytest.fixture(scope="module")
def official():
    return _reference_or_fail()


def _one_step_early(x: np.ndarray) -> np.ndarray:
    """Index t holds what index t-1 held: the recursion reads step t where it should read t+1."""
    return np.concatenate([x[:, :1], x[:, :-1]], 1)


def reward_one_step_early(last, term, rew, val, boot, disc, lam):
    return pieces.lambda_return(last, term, _one_step_early(rew), val, boot, disc, lam)


def every_input_one_step_early(last, term, rew, val, boot, disc, lam):
    """Textbook-layout arrays handed to the official recursion without the shift."""
    last, term, rew, boot = map(_one_step_early, (last, term, rew, boot))
    return pieces.lambda_return(last, term, rew, val, boot, disc, lam)


VARIANTS = {"reward-one-step-early": reward_one_step_early,
            "every-input-one-step-early": every_input_one_step_early}


@pytest.mark.parametrize("variant", sorted(VARIANTS), ids=sorted(VARIANTS))
@given(inputs=strategies.lambda_return_inputs())
def test_one_step_shift_fails_the_returns_check_in_every_example(variant, inputs, official):
    shifted = in_input_units(VARIANTS[variant](**inputs), inputs)
    ref = in_input_units(pieces.lambda_return(**inputs), inputs)
    comparison = compare.compare(shifted, ref, tolerances.get(TOLERANCE))
    assert not comparison.ok, (
        f"{variant} passes the returns check ({comparison.summary()}) on "
        f"batch x length {inputs['rew'].shape}, disc {inputs['disc']}, lam {inputs['lam']}")
