"""Lambda returns in the official convention: reward[t] arrives with observation t.

The official `lambda_return(last, term, rew, val, boot, disc, lam)` returns R[t] for
t = 0..T-2 from rew[t+1], term[t+1], last[t+1] and boot[t+1]. A target computing returns in
another convention must shift its inputs in its wrapper; this check proves the shift. (The
suite's own statement of the shift, parity_tests/conventions.py, is a unit test of the suite:
tests/test_conventions.py.) tests/test_returns_power.py shows that a return reading the
rewards, or every input, one step early fails this check in every example the strategy draws.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given

from parity_tests import strategies
from reference_adapter import pieces

CHECK = "returns/lambda_return/official-convention"
DESCRIPTION = "lambda_return on random trajectories (replay and imagination forms)"
TOLERANCE = "recurrence"


def in_input_units(returns, inputs: dict) -> np.ndarray:
    """float32 rounding is relative to the largest summand, not to the (possibly cancelled)
    result: returns in units of the largest input."""
    scale = strategies.magnitude(inputs["rew"], inputs["val"], inputs["boot"])
    return np.asarray(returns, np.float64) / scale


@given(inputs=strategies.lambda_return_inputs())
def test_returns_lambda_return_matches_official(inputs, official, target, parity):
    fn = parity.piece(target, "lambda_return", CHECK, "BUG", DESCRIPTION)
    ours = in_input_units(fn(**inputs), inputs)
    ref = in_input_units(pieces.lambda_return(**inputs), inputs)
    parity.check(CHECK, "BUG", DESCRIPTION, ours, ref, TOLERANCE)
