"""Agent config overrides from the command line (`reimpl.train --agent`)."""

from __future__ import annotations

import pytest

from reimpl.config import override, preset


def test_override_reaches_nested_fields_with_their_types():
    config = override(preset("cpu"), "opt.lr=3e-4, rssm.free_nats=0.5,contdisc=false,"
                                     "enc.mults=1:2,batch_size=4")
    assert config.opt.lr == 3e-4 and isinstance(config.opt.lr, float)
    assert config.rssm.free_nats == 0.5
    assert config.contdisc is False
    assert config.enc.mults == (1, 2)
    assert config.batch_size == 4 and isinstance(config.batch_size, int)
    # Untouched fields keep the preset's values.
    assert config.opt.warmup == preset("cpu").opt.warmup
    assert override(preset("cpu"), "") == preset("cpu")


@pytest.mark.parametrize("assignments, message", [
    ("opt.momentum=1", r"unknown config key 'opt.momentum': OptConfig has agc, beta1"),
    ("opt=1", r"'opt' names a group"),
    ("opt.lr=fast", r"'opt.lr': cannot read 'fast' as float"),
    ("contdisc=yes", r"'contdisc': cannot read 'yes' as bool"),
    ("batch_size=2.5", r"'batch_size': cannot read '2.5' as int"),
    ("lr", r"'lr' is not key=value"),
    ("horizon.x=1", r"'horizon.x': horizon has no fields"),
])
def test_override_refuses_what_it_cannot_apply(assignments, message):
    with pytest.raises(ValueError, match=message):
        override(preset("cpu"), assignments)
