"""Constants kept among a target's parameters (a two-hot bin table) are declared and left as
they are by the structural probes' noise (parity_tests/declarations.py, own_networks.py)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from parity_tests import declarations, own_networks

PARAMS = {"rew": {"bins": np.linspace(-20, 20, 255, dtype=np.float32),
                  "kernel": np.zeros((4, 255), np.float32)},
          "step": np.zeros((), np.int32)}


def test_declared_constants_are_left_as_they_are_and_the_rest_moves():
    constant = declarations.constant_params(SimpleNamespace(constant_params=(r"\['bins'\]",)),
                                            PARAMS)
    moved = own_networks.perturbed(PARAMS, 0, constant)
    assert np.array_equal(moved["rew"]["bins"], PARAMS["rew"]["bins"])
    assert not np.array_equal(moved["rew"]["kernel"], PARAMS["rew"]["kernel"])
    # the other leaves get the noise they get without the declaration
    plain = own_networks.perturbed({"rew": {"kernel": PARAMS["rew"]["kernel"]}}, 0)
    assert np.array_equal(moved["rew"]["kernel"], plain["rew"]["kernel"])


def test_undeclared_every_float_leaf_moves():
    assert declarations.constant_params(SimpleNamespace(), PARAMS) == ()
    moved = own_networks.perturbed(PARAMS, 0)
    assert not np.array_equal(moved["rew"]["bins"], PARAMS["rew"]["bins"])


def test_a_pattern_matching_no_leaf_names_the_leaves_there_are():
    with pytest.raises(ValueError, match=r"'bin_table' matches no leaf of own_params \(3 "
                                         r"leaves: \['rew'\]\['bins'\]"):
        declarations.constant_params(SimpleNamespace(constant_params=("bin_table",)), PARAMS)
    with pytest.raises(TypeError, match="tuple of regexes"):
        declarations.constant_params(SimpleNamespace(constant_params="bins"), PARAMS)
