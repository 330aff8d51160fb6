"""The official's own spread (parity_tests/noise_floor.py): twins one ulp apart in opposite
directions, unstable elements reported instead of compared, and a target judged beyond
FACTOR x the spread."""

from __future__ import annotations

import numpy as np

from parity_tests import noise_floor


def test_twins_move_every_float_entry_one_ulp_in_opposite_directions_and_keep_integers():
    values = {"w": np.array([0.5, -3.0, 1e-30, 0.0], np.float32), "count": np.array(7, np.int32)}
    up, down = noise_floor.twins(values, seed=0)
    assert np.all(up["w"] != values["w"]) and np.all(down["w"] != values["w"])
    # Adjacent floats: one step back towards the original lands on it.
    assert np.array_equal(np.nextafter(up["w"], values["w"]), values["w"])
    assert np.array_equal(np.nextafter(down["w"], values["w"]), values["w"])
    assert np.all(np.sign(up["w"].astype(np.float64) - values["w"])
                  == -np.sign(down["w"].astype(np.float64) - values["w"]))
    assert up["w"].dtype == np.float32 and up["count"] == 7 and down["count"] == 7
    again, _ = noise_floor.twins(values, seed=0)
    assert np.array_equal(again["w"], up["w"])


def _judge(ours, official, twins, allowed):
    return noise_floor.judge({"x": np.asarray(ours)}, {"x": np.asarray(official)},
                             [{"x": np.asarray(t)} for t in twins], {"x": np.asarray(allowed)})


def test_a_distance_within_the_allowed_error_agrees():
    judgement = _judge([1.0, 2.0], [1.0, 2.05], [[1.0, 2.05]], 0.1)
    assert judgement.agrees and abs(judgement.ratio - 0.5) < 1e-9 and judgement.unstable == 0


def test_a_distance_the_official_spread_explains_agrees_and_one_beyond_it_differs():
    # allowed 0.1; the twins move the official by 0.08 (stable), so the bound is 4 x 0.08.
    assert _judge([1.3], [1.0], [[1.08], [0.95]], 0.1).agrees
    beyond = _judge([1.4], [1.0], [[1.08], [0.95]], 0.1)
    assert not beyond.agrees and beyond.where == "x[0]" and abs(beyond.spread - 0.08) < 1e-9


def test_an_element_the_official_itself_moves_beyond_the_tolerance_is_unstable_not_compared():
    judgement = _judge([5.0, 1.0], [1.0, 1.0], [[3.0, 1.0], [1.0, 1.0]], 0.1)
    assert judgement.agrees and judgement.unstable == 1 and judgement.unstable_where == "x[0]"
    assert "unstable" in judgement.summary()


def test_integers_with_no_allowed_error_must_be_equal():
    assert not _judge([3.0], [4.0], [[4.0]], 0.0).agrees
    assert _judge([4.0], [4.0], [[4.0]], 0.0).agrees
