"""Lambda returns in the official convention: reward[t] arrives with observation t.

The official `lambda_return(last, term, rew, val, boot, disc, lam)` returns R[t] for
t = 0..T-2 from rew[t+1], term[t+1], last[t+1] and boot[t+1]. A target computing returns in
another convention must shift its inputs in its wrapper; this check proves the shift. (The
suite's own statement of the shift, parity_tests/conventions.py, is a unit test of the suite:
tests/test_conventions.py.) tests/test_returns_power.py shows that a return reading the
rewards, or every input, one step early fails this check in every example the strategy draws.
A failure says which returns differ, grouped by what ends the steps each reads (a truncation,
a terminal, nothing: conventions.episode_end_read), names truncations as the cause when only
those returns differ, and states the failing example's shape, disc, lam and episode ends.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given

from parity_tests import conventions, strategies, tolerances
from reference_adapter import pieces

CHECK = "returns/lambda_return/official-convention"
DESCRIPTION = "lambda_return on random trajectories (replay and imagination forms)"
TOLERANCE = "recurrence"


def in_input_units(returns, inputs: dict) -> np.ndarray:
    """float32 rounding is relative to the largest summand, not to the (possibly cancelled)
    result: returns in units of the largest input."""
    scale = strategies.magnitude(inputs["rew"], inputs["val"], inputs["boot"])
    return np.asarray(returns, np.float64) / scale


def _steps(mask: np.ndarray, limit: int = 6) -> str:
    where = [tuple(int(i) for i in index) for index in np.argwhere(mask)]
    shown = ", ".join(f"[{b}, {t}]" for b, t in where[:limit])
    return (shown + f" and {len(where) - limit} more" if len(where) > limit else shown) or "none"


def example_facts(inputs: dict) -> str:
    """The failing example in a line: form, shape, disc, lam, scale and where episodes end."""
    last, term = np.asarray(inputs["last"], bool), np.asarray(inputs["term"])
    form = "imagination (no is_last, soft term)" if not last.any() and (
        (term > 0) & (term < 1)).any() else "replay"
    return (f"example: {form}, batch x length {last.shape[0]} x {last.shape[1]}, "
            f"disc {inputs['disc']:.6g}, lam {inputs['lam']:g}, |rew| up to "
            f"{np.abs(inputs['rew']).max():.3g}; terminals (is_last & is_terminal) at "
            f"{_steps(last & (term == 1))}; truncations (is_last only) at "
            f"{_steps(last & (term != 1))}")


def diagnosis(ours, ref, inputs: dict) -> str:
    """Which returns differ, grouped by what ends the steps each reads; names truncations as
    the cause when every differing return reads one."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    tolerance = tolerances.get(TOLERANCE)
    if ours.shape != ref.shape:
        return example_facts(inputs)
    differs = np.abs(ours - ref) > tolerance.atol + tolerance.rtol * np.abs(ref)
    ends = conventions.episode_end_read(inputs["last"], inputs["term"], inputs["lam"])
    counts = ", ".join(f"{int((differs & (ends == kind)).sum())} of {int((ends == kind).sum())}"
                       f" returns reading {label}" for kind, label in (
                           ("truncation", "a truncation"), ("terminal", "a terminal"),
                           ("none", "no episode end")) if (ends == kind).any())
    lines = [f"differing: {counts}"]
    if differs.any() and (differs <= (ends == "truncation")).all():
        lines.append(
            "the target's return differs only where it reads a truncation (is_last without "
            "is_terminal): there the official return bootstraps from boot, discounted by disc, "
            "and cuts the lambda mixing; is_last taken for a terminal (no bootstrap), or a "
            "truncation not cut, differs exactly there")
    if differs.any():
        b, t = (int(i) for i in np.argwhere(differs)[0])
        stop = conventions.last_step_read(inputs["last"], inputs["lam"])[b, t]
        lines.append(f"first differing R[{b}, {t}] (reads steps {t + 1}..{stop}): target "
                     f"{ours[b, t]:.6g}, official {ref[b, t]:.6g} (in units of the largest "
                     "input)")
    return "\n  ".join([*lines, example_facts(inputs)])


@contextlib.contextmanager
def explained(explain):
    """A parity failure inside gains the lines `explain()` returns (the recorder's message
    names the check and the worst element; the cause and the example are the check's)."""
    try:
        yield
    except pytest.fail.Exception as failure:
        raise pytest.fail.Exception(f"{failure.msg}\n  {explain()}", pytrace=False) from None


@given(inputs=strategies.lambda_return_inputs())
def test_returns_lambda_return_matches_official(inputs, official, target, parity):
    fn = parity.piece(target, "lambda_return", CHECK, "BUG", DESCRIPTION)
    ours = in_input_units(fn(**inputs), inputs)
    ref = in_input_units(pieces.lambda_return(**inputs), inputs)
    with explained(lambda: diagnosis(ours, ref, inputs)):
        parity.check(CHECK, "BUG", DESCRIPTION, ours, ref, TOLERANCE)
