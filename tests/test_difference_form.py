"""The form of a difference: rescalings, shifts and both are named with their numbers; a change
of shape is "changed" with its cosine and norm ratio, for trees as for arrays."""

from __future__ import annotations

import numpy as np
import pytest

from parity_tests.difference_form import form

REF = np.random.default_rng(0).normal(size=(4, 9)).astype(np.float32)


@pytest.mark.parametrize("ours, expected", [
    (REF / 32, "scale-only x0.0312"),  # a KL averaged over 32 latents instead of summed
    (-REF, "sign-flipped"),
    (REF + 0.5, "offset +0.5"),
    (2 * REF - 1, "affine x2 -1"),
    (np.ones_like(REF), "constant 1"),
], ids=["mean-for-sum", "sign", "offset", "affine", "constant"])
def test_a_rescaling_or_a_shift_is_named_with_its_numbers(ours, expected):
    assert form(np.float32(ours), REF) == expected


def test_float32_rounding_of_a_rescaling_is_still_that_rescaling():
    ours = (REF.astype(np.float64) * 3).astype(np.float32) + np.float32(1e-7)
    assert form(ours, REF) == "scale-only x3"


def test_a_shift_in_time_is_a_change_with_its_cosine():
    shifted = np.roll(REF, 1, axis=1)
    phrase = form(shifted, REF)
    cosine = float((shifted * REF).sum() / (np.linalg.norm(shifted) * np.linalg.norm(REF)))
    assert phrase == f"changed: cosine {cosine:.3g}, norm x1"


def test_trees_are_one_quantity_and_nothing_to_fit_is_empty():
    tree = {"a": REF, "b": REF[:2]}
    assert form({"a": REF * 2, "b": REF[:2] * 2}, tree) == "scale-only x2"
    assert form(REF, REF) == ""
    assert form(np.zeros(3), np.zeros(3)) == ""
    assert form(np.ones(3), np.zeros(3)) == "the official quantity is zero"
    assert form(np.zeros(3), np.ones(3)) == "zero: the target's quantity is 0 everywhere"
    assert form(np.array([np.nan, 1.0]), np.array([np.nan, 1.0])) == ""


def test_an_update_names_the_modules_whose_change_moved_with_cosine_and_norm():
    # updates.signal: the learning signal of a differing parameter update, module by module.
    from parity_tests import updates

    rng = np.random.default_rng(1)
    start = {name: rng.normal(size=(3, 5)) for name in
             ("pol/mlp/kernel", "pol/out/kernel", "val/out/kernel", "enc/kernel", "opt/m")}
    step = {name: 1e-3 * rng.normal(size=(3, 5)) for name in start}
    official = {name: start[name] + step[name] for name in start}
    ours = dict(official)
    ours["val/out/kernel"] = start["val/out/kernel"] + 2 * step["val/out/kernel"]
    ours["enc/kernel"] = start["enc/kernel"]  # the encoder does not move
    ours["opt/m"] = start["opt/m"] + 5.0  # not a trained parameter: not a learning signal
    assert updates.signal(ours, official, start) == ("val: cosine 1, norm x2; "
                                                     "enc: zero (no change)")
    ours["pol/out/kernel"] = start["pol/out/kernel"] - step["pol/out/kernel"]
    # Half the policy's change reversed: its direction turns by about 90 degrees, its size stays.
    assert updates.signal(ours, official, start).startswith("pol: cosine -0.0998, norm x1; ")
    assert updates.signal(dict(official), official, start) == ""
