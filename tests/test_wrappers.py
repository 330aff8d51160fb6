"""The wrapper conversions (parity_tests/wrappers.py): layout swaps and index shifts round-trip
on numpy and JAX arrays (and differentiate), the returns shift gives the official
`lambda_return`, and a name map accounts for every official parameter of the real layout
(fixtures/official_param_layout_debug.txt) or says which it does not."""

from __future__ import annotations

import ast
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given

from parity_tests import compare, conventions, strategies, tolerances, wrappers
from parity_tests.conftest import _reference_or_fail
from parity_tests.test_returns import TOLERANCE, in_input_units
from reference_adapter import pieces

LAYOUT = Path(__file__).resolve().parents[1] / "fixtures" / "official_param_layout_debug.txt"


def official_layout() -> dict[str, tuple[int, ...]]:
    rows = [line.split(" ", 1) for line in LAYOUT.read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    return {name: ast.literal_eval(rest.rsplit(" ", 1)[0]) for name, rest in rows}


@pytest.mark.parametrize("xp", [np, jnp], ids=["numpy", "jax"])
def test_layout_swaps_round_trip(xp):
    batch = {"reward": xp.arange(6.0).reshape(2, 3), "image": xp.zeros((2, 3, 4, 4, 1))}
    time_major = wrappers.to_time_major(batch)
    assert time_major["reward"].shape == (3, 2) and time_major["image"].shape == (3, 2, 4, 4, 1)
    assert float(time_major["reward"][2, 1]) == float(batch["reward"][1, 2])
    back = wrappers.to_batch_major(time_major)
    np.testing.assert_array_equal(np.asarray(back["reward"]), np.asarray(batch["reward"]))
    assert type(back["reward"]) is type(batch["reward"])


def test_a_leaf_without_two_axes_is_named():
    with pytest.raises(ValueError, match=r"to_time_major: leaf \['lam'\] has shape \(\)"):
        wrappers.to_time_major({"reward": np.zeros((2, 3)), "lam": np.float32(0.95)})


@pytest.mark.parametrize("axis", [1, 0], ids=["batch-major", "time-major"])
def test_index_shift_round_trips(axis):
    official = np.array([[0.0, 1.0, 2.0, 3.0], [0.0, 5.0, 6.0, 7.0]], np.float32)
    official = official if axis == 1 else official.T
    textbook = wrappers.shift_to_textbook(official, axis)
    assert textbook.shape[axis] == 3 and float(np.take(textbook, 0, axis)[0]) == 1.0
    np.testing.assert_array_equal(wrappers.shift_to_official(textbook, 0.0, axis), official)
    flags = np.array([[False, False, True]])
    assert wrappers.shift_to_official(flags, False).dtype == bool


def test_index_shift_is_differentiable():
    """jax.grad through the shift: the official step 0 gets no gradient, step t+1 that of
    textbook step t."""
    weights = jnp.array([[1.0, 2.0, 3.0]])
    grad = jax.grad(lambda r: (weights * wrappers.shift_to_textbook(r)).sum())(jnp.ones((1, 4)))
    np.testing.assert_array_equal(grad, [[0.0, 1.0, 2.0, 3.0]])


@pytest.fixture(scope="module")
def official():
    return _reference_or_fail()


@given(inputs=strategies.lambda_return_inputs())
def test_returns_shift_gives_the_official_lambda_return(inputs, official):
    textbook = wrappers.textbook_returns_inputs(
        *(jnp.asarray(inputs[k]) for k in ("last", "term", "rew", "boot")), inputs["disc"],
        inputs["lam"])
    ours = conventions.textbook_lambda_return(**{k: np.asarray(v) for k, v in textbook.items()})
    comparison = compare.compare(in_input_units(ours, inputs),
                                 in_input_units(pieces.lambda_return(**inputs), inputs),
                                 tolerances.get(TOLERANCE))
    assert comparison.ok, comparison.summary()


# A Haiku-style naming of the whole official layout, the slow critic declared unused.
HAIKU = wrappers.NameMap(
    rules=(
        (r"enc/cnn(\d+)/(kernel|bias)", r"encoder/conv_\1/\2"),
        (r"enc/cnn(\d+)norm/scale", r"encoder/conv_\1_norm/scale"),
        (r"dyn/(\w+)/(\w+)", r"rssm/\1/\2"),
        (r"(rew|con|pol|val)/(.+)", r"heads/\1/\2"),
        (r"dec/(\w+)/(\w+)", r"decoder/\1/\2"),
    ),
    unused=(r"slowval/.*",),
)


def test_name_map_accounts_for_every_official_parameter():
    layout = official_layout()
    params = {name: np.zeros(shape, np.float32) for name, shape in layout.items()}
    ours = HAIKU.to_target(params)
    assert len(ours) == len(layout) - 5  # the five slowval parameters are unused
    assert ours["encoder/conv_0/kernel"].shape == layout["enc/cnn0/kernel"]
    assert ours["heads/pol/head/action/logits/bias"] is params["pol/head/action/logits/bias"]
    back = HAIKU.to_official(ours, layout)
    assert set(back) == {n for n in layout if not n.startswith("slowval/")}
    assert all(back[n] is params[n] for n in back)


def test_name_map_names_what_it_misses():
    layout = official_layout()
    partial = wrappers.NameMap(rules=HAIKU.rules[:-1], unused=HAIKU.unused)
    with pytest.raises(wrappers.NameMapError, match=r"^19 official parameters neither mapped "
                                                    r"nor declared unused: dec/conv0/bias, "):
        partial.names(layout)


@pytest.mark.parametrize("name_map, message", [
    (wrappers.NameMap(rules=((r"(enc|dec)/.*", "net"),), unused=(r"(?!enc|dec).*",)),
     "official parameters mapped onto one target name: net <- "),
    (wrappers.NameMap(rules=(*HAIKU.rules, (r"enc/conv(\d+)/kernel", r"x\1")),
                      unused=HAIKU.unused),
     r"patterns that decide no official parameter: enc/conv(\d+)/kernel"),
    (wrappers.NameMap(rules=(*HAIKU.rules, (r"dec/conv0/kernel", "d0")),
                      unused=HAIKU.unused),
     "patterns that decide no official parameter: dec/conv0/kernel"),
], ids=["two-onto-one", "stale-pattern", "shadowed-rule"])
def test_name_map_refuses_clashes_and_stale_patterns(name_map, message):
    with pytest.raises(wrappers.NameMapError) as error:
        name_map.names(official_layout())
    assert str(error.value).startswith(message), str(error.value)


def test_values_missing_on_the_way_back_are_named():
    layout = official_layout()
    ours = HAIKU.to_target({name: 0 for name in layout})
    del ours["rssm/dynin0/kernel"]
    with pytest.raises(wrappers.NameMapError, match="^target values lack rssm/dynin0/kernel$"):
        HAIKU.to_official(ours, layout)


def test_auto_reset_rows_carry_each_transition_and_mark_terminal_observations():
    from parity_tests.wrappers import to_auto_reset

    # one trajectory: 0 1 2 | 3(first) 4: the episode ends at observation 2 (is_last,
    # terminal), a reward arrives with each observation
    batch = {"image": np.arange(5)[None], "action": 10 + np.arange(5)[None],
             "reward": np.array([[0.0, 1.0, 2.0, 0.0, 4.0]]),
             "is_first": np.array([[True, False, False, True, False]]),
             "is_last": np.array([[False, False, True, False, False]]),
             "is_terminal": np.array([[False, False, True, False, False]])}
    rows = to_auto_reset(batch, ["image"], ["action"])
    assert rows["image"].tolist() == [[0, 1, 2, 3]] and rows["action"].tolist() == [[10, 11,
                                                                                       12, 13]]
    assert rows["reward"].tolist() == [[1.0, 2.0, 0.0, 4.0]]  # of the transition leaving t
    assert rows["done"].tolist() == [[False, True, False, False]]
    assert rows["terminal"].tolist() == [[False, True, False, False]]
    assert rows["is_first"].tolist() == [[True, False, False, True]]
    # observation 2 is the terminal one an auto-reset loop never stores
    assert rows["valid"].tolist() == [[True, True, False, True]]
