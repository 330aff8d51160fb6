"""Lambda returns in the official convention: reward[t] arrives with observation t.

The official `lambda_return(last, term, rew, val, boot, disc, lam)` returns R[t] for
t = 0..T-2 from rew[t+1], term[t+1], last[t+1] and boot[t+1]. A target computing returns in
another convention must shift its inputs in its wrapper; these checks prove the shift.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given

from parity_tests import conventions, strategies
from reference_adapter import pieces

CHECK = "returns/lambda_return/official-convention"
DESCRIPTION = "lambda_return on random trajectories (replay and imagination forms)"


@given(inputs=strategies.lambda_return_inputs())
def test_returns_lambda_return_matches_official(inputs, official, target, parity):
    fn = parity.piece(target, "lambda_return", CHECK, "BUG", DESCRIPTION)
    ours = np.asarray(fn(**inputs))
    ref = pieces.lambda_return(**inputs)
    # float32 rounding is relative to the largest summand, not to the (possibly cancelled)
    # result: compare in units of the input magnitude.
    scale = strategies.magnitude(inputs["rew"], inputs["val"], inputs["boot"])
    parity.check(CHECK, "BUG", DESCRIPTION, ours / scale, ref / scale, "recurrence")


@given(inputs=strategies.lambda_return_inputs())
def test_returns_textbook_shift_matches_official(inputs, official, parity):
    """The shift documented in parity_tests/conventions.py (and docs/TARGETS.md) turns a
    textbook-indexed return and advantage into exactly the official ones."""
    check = "returns/textbook-shift"
    description = "textbook lambda return and advantage through the documented index shift"
    textbook = conventions.official_to_textbook(
        inputs["last"], inputs["term"], inputs["rew"], inputs["boot"], inputs["disc"],
        inputs["lam"])
    ours_ret = conventions.textbook_lambda_return(**textbook)
    ref_ret = pieces.lambda_return(**inputs)
    scale = strategies.magnitude(inputs["rew"], inputs["val"], inputs["boot"])
    ours = {"ret": ours_ret / scale, "adv": (ours_ret - inputs["val"][:, :-1]) / scale}
    ref = {"ret": ref_ret / scale, "adv": (ref_ret - inputs["val"][:, :-1]) / scale}
    parity.check(check, "BUG", description, ours, ref, "recurrence")
