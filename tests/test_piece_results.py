"""A malformed target result is one line naming the piece, the key, what was expected and what
came; an exception inside a piece is one line too (issue 25 item 4)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from parity_tests import piece_results

SHAPES = {"weight": ((4, 9), "[B, K-1]"), "ret": ((4, 9), "[B, K-1]")}


def _failure(call) -> str:
    with pytest.raises(pytest.fail.Exception) as failed:
        call()
    message = str(failed.value)
    assert "\n" not in message
    return message


def test_a_piece_that_raises_is_one_line(monkeypatch):
    def piece(inputs):
        return inputs["weight"]

    monkeypatch.delenv(piece_results.TRACEBACK, raising=False)
    message = _failure(lambda: piece_results.guarded(piece, "replay_loss")({}))
    assert message == ("the target's piece replay_loss raised KeyError: 'weight' (its own "
                       "code, not a check; PARITY_TRACEBACK=1 shows the traceback)")
    monkeypatch.setenv(piece_results.TRACEBACK, "1")
    with pytest.raises(KeyError):
        piece_results.guarded(piece, "replay_loss")({})


def test_a_guarded_piece_still_traces_and_is_guarded_once():
    guarded = piece_results.guarded(lambda x: (x ** 2).sum(), "twohot_loss")
    assert float(jax.grad(guarded)(jnp.ones(3))[0]) == 2.0
    assert piece_results.guarded(guarded, "twohot_loss") is guarded


@pytest.mark.parametrize("result, message", [
    ({"weight": np.zeros((4, 8))}, "returned weight of shape (4, 8), expected [B, K-1] (4, 9)"),
    ({"ret": "none"}, "returned ret as str, not an array of shape [B, K-1] (4, 9)"),
    ([np.zeros((4, 9))], "returned list, not a dict of weight, ret"),
], ids=["short", "not-an-array", "not-a-dict"])
def test_a_malformed_result_is_one_line(result, message):
    assert _failure(lambda: piece_results.checked(result, "replay_loss", SHAPES)) == (
        f"the target's piece replay_loss {message}")


def test_a_well_formed_result_passes_and_a_missing_key_is_left_to_the_check():
    result = {"weight": np.zeros((4, 9))}
    assert piece_results.checked(result, "replay_loss", SHAPES) is result
    traced = jax.jit(lambda x: piece_results.checked({"ret": x}, "replay_loss", SHAPES)["ret"])
    assert traced(jnp.zeros((4, 9))).shape == (4, 9)
