"""The config check (parity_tests/test_config.py) on statements made up to fail it: a key the
target fixes in code still fails when the official preset asks for another choice, and fixed
keys are reported apart from compared ones."""

from __future__ import annotations

import pytest

from parity_tests.conftest import _reference_or_fail
from parity_tests.targets import reimpl_config
from parity_tests.test_config import (
    TOP_LEVEL_IGNORED,
    _flatten,
    _not_stated,
    _problems,
    _removed_terms,
)
from reference_adapter.official_config import make_config


@pytest.fixture(scope="module")
def official():
    return _reference_or_fail()


def _reference(overrides=None) -> dict:
    flat = _flatten(make_config("debug", overrides))
    return {k: v for k, v in flat.items() if k not in TOP_LEVEL_IGNORED}


def test_reimpl_statement_agrees_with_every_official_key(official):
    ref = _reference()
    ours, fixed = reimpl_config.official_config("debug"), reimpl_config.fixed_config()
    assert _problems(ours, fixed, ref) == []
    assert not ours.keys() & fixed.keys()


def test_fixed_key_with_another_official_choice_fails(official):
    ref = _reference({"opt.wd": 0.1, "enc.simple.winit": "normal_in"})
    ours, fixed = reimpl_config.official_config("debug"), reimpl_config.fixed_config()
    problems = _problems(ours, fixed, ref)
    assert "opt.wd: fixed in the target's code to 0.0, official 0.1" in problems
    assert any(p.startswith("enc.simple.winit: fixed in the target's code") for p in problems)


def test_key_stated_both_ways_or_not_at_all_fails(official):
    ref = _reference()
    ours, fixed = reimpl_config.official_config("debug"), reimpl_config.fixed_config()
    both = _problems({**ours, "opt.wd": 0.0}, fixed, ref)
    assert "opt.wd: stated both as configurable and as fixed in code" in both
    fixed.pop("dyn.typ")
    # A key stated neither way is reported apart from differences (check config/not-stated).
    assert _not_stated(ours, fixed, ref) == {"dyn.typ": "rssm"}
    assert not any(p.startswith("dyn.typ") for p in _problems(ours, fixed, ref))


def test_a_loss_term_switched_off_is_named_as_removed(official):
    ref = _reference()
    ours = {**reimpl_config.official_config("debug"), "loss_scales.repval": 0.0}
    assert _removed_terms(ours, reimpl_config.fixed_config(), ref) == ["loss_scales.repval"]
    assert _removed_terms(reimpl_config.official_config("debug"), {}, ref) == []
