"""The tree comparator: NaN positions must match (and matching NaNs agree), differing infs
fail, and every message names a path, the top-level array included."""

from __future__ import annotations

import numpy as np

from parity_tests import compare as compare_lib
from parity_tests.tolerances import Tolerance, get

TOLERANCE = get("elementwise")


def _compare(ours, ref):
    return compare_lib.compare(ours, ref, TOLERANCE)


def test_matching_nans_agree():
    values = {"a": np.array([1.0, np.nan, 3.0], np.float32)}
    result = _compare(values, {"a": values["a"].copy()})
    assert result.ok and result.problems == ()


def test_matching_infs_agree():
    values = np.array([np.inf, -np.inf, 2.0], np.float32)
    assert _compare(values, values.copy()).ok


def test_differing_nan_positions_fail_naming_the_path():
    result = _compare({"a": np.array([np.nan, 1.0])}, {"a": np.array([1.0, np.nan])})
    assert not result.ok
    assert result.problems == ("['a']: NaN positions differ",)


def test_differing_infs_fail():
    result = _compare({"a": np.array([np.inf, 1.0])}, {"a": np.array([-np.inf, 1.0])})
    assert not result.ok and result.problems == ("['a']: inf values differ",)
    assert not _compare(np.array([np.inf]), np.array([1.0])).ok


def test_top_level_array_messages_name_the_root():
    nan_positions = _compare(np.array([np.nan, 1.0]), np.array([1.0, 1.0]))
    shape = _compare(np.zeros(2), np.zeros(3))
    values = _compare(np.array([1.0, 2.0]), np.array([1.0, 3.0]))
    assert nan_positions.problems == ("<root>: NaN positions differ",)
    assert shape.problems == ("<root>: shape (2,) vs reference (3,)",)
    assert not values.ok and values.where == "<root>[1]"
    assert all(summary.split(":")[0] for summary in (nan_positions.summary(),
                                                     shape.summary()))


def test_the_margin_is_the_worst_error_over_the_allowed_error():
    tolerance = Tolerance(rtol=0.1, atol=0.0, reason="test")
    result = compare_lib.compare({"a": np.array([1.0, 10.0])}, {"a": np.array([1.05, 10.0])},
                                 tolerance)
    assert result.ok and abs(result.margin - 0.05 / 0.105) < 1e-9
    far = compare_lib.compare({"a": np.array([2.0])}, {"a": np.array([1.0])}, tolerance)
    assert not far.ok and abs(far.margin - 10.0) < 1e-9


def test_an_exact_check_has_margin_zero_when_equal_and_infinite_when_not():
    exact = Tolerance(rtol=0.0, atol=0.0, reason="test")
    assert compare_lib.compare({"a": np.array([3])}, {"a": np.array([3])}, exact).margin == 0.0
    assert compare_lib.compare({"a": np.array([3])}, {"a": np.array([4])}, exact).margin > 1e20
