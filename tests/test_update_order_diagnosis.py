"""The update-order diagnosis names which parameters a reported loss was computed from
(parity_tests/update_order.py), on a loss whose value tells its parameters apart."""

from __future__ import annotations

import numpy as np

from parity_tests import update_order

GROUPS = {"['dyn']": "dyn", "['val']": "val", "['slowval']": None}


def _losses(params, data=None, seed=0):
    """'dyn' reads the world model, 'value' the world model, the critic and the slow critic."""
    return {"dyn": params["dyn"], "value": params["dyn"] + 10 * params["val"]
            + 100 * params["slowval"]}


def _history():
    return [{"dyn": np.float64(1.0 + k), "val": np.float64(2.0 + k),
             "slowval": np.float64(3.0 + k)} for k in range(3)]


def _judge(reported):
    history = _history()
    computed = [{name: {t: float(v) for t, v in _losses(p).items()}
                 for name, p in update_order.parameter_sets(history, k, GROUPS.get).items()}
                for k in range(2)]
    found = [update_order.matches(r, c, update_order.TOLERANCE)
             for r, c in zip(reported, computed, strict=True)]
    return update_order.verdict(found, reported, computed)


def _reported(params_per_update):
    return [_losses(p) for p in params_per_update]


def test_losses_of_the_parameters_before_each_update_agree():
    history = _history()
    assert _judge(_reported(history[:2])) == ("CRITDIFF", "")


def test_a_world_model_updated_first_is_named_for_the_terms_it_moves():
    history = _history()
    sequential = [{**h, "dyn": after["dyn"]}
                  for h, after in zip(history[:2], history[1:3], strict=True)]
    reported = [{"dyn": _losses(h)["dyn"], "value": _losses(s)["value"]}
                for h, s in zip(history[:2], sequential, strict=True)]
    tag, detail = _judge(reported)
    assert tag == "CRITDIFF" and "update 1: value are the losses of the world model" in detail
    assert "dyn" not in detail.split(":")[1]


def test_a_stale_update_and_a_slow_critic_mixed_first_are_bugs():
    history = _history()
    stale = _reported([history[0], history[0]])  # the second update reads the first's start
    tag, detail = _judge(stale)
    assert tag == "BUG" and "update 2: dyn, value are the losses of the parameters before the "\
        "previous update" in detail
    early = _reported([{**history[0], "slowval": history[1]["slowval"]}, history[1]])
    tag, detail = _judge(early)
    assert tag == "BUG" and "update 1: value are the losses of the slow critic already" in detail


def test_a_loss_of_no_candidate_says_how_far_it_is():
    reported = _reported(_history()[:2])
    reported[1]["value"] += 0.5
    tag, detail = _judge(reported)
    assert tag == "CRITDIFF" and "update 2: value match the losses of none of" in detail
