"""The reimpl's parameters flatten to exactly the official names, shapes and dtypes."""

from __future__ import annotations

import ast
from pathlib import Path

import jax
import numpy as np
import pytest

from reimpl import parameters, world_model
from reimpl.config import preset
from reimpl.heads import MLPHead
from reimpl.rssm import feat_to_tensor, initial_carry
from reimpl.spaces import Space, discrete_act_space, image_obs_space

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "official_param_layout_debug.txt"


def official_layout() -> dict[str, tuple[tuple[int, ...], str]]:
    layout = {}
    for line in FIXTURE.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, rest = line.split(" ", 1)
        shape, dtype = rest.rsplit(" ", 1)
        layout[name] = (tuple(ast.literal_eval(shape)), dtype)
    return layout


@pytest.fixture(scope="module")
def world_model_params() -> dict:
    config = preset("debug")
    return world_model.init_params(
        image_obs_space(64, 3), discrete_act_space(17), config, jax.random.key(0)
    )


@pytest.fixture(scope="module")
def reimpl_layout(world_model_params) -> dict[str, tuple[tuple[int, ...], str]]:
    config = preset("debug")
    act_space = discrete_act_space(17)
    params = dict(world_model_params)
    features = feat_to_tensor(jax.tree.map(lambda x: x[:, None], initial_carry(config.rssm, 1)))
    scalar = Space((), "float32")
    params["pol"] = MLPHead(act_space, config.policy).init(jax.random.key(1), features, 2)
    params["val"] = MLPHead(scalar, config.value).init(jax.random.key(2), features, 2)
    params["pol"], params["val"] = params["pol"]["params"], params["val"]["params"]
    return parameters.layout(parameters.flatten(params))


def _describe(ours: dict, theirs: dict) -> str:
    lines = [f"missing {n!r} {theirs[n]}" for n in sorted(theirs.keys() - ours.keys())]
    lines += [f"unexpected {n!r} {ours[n]}" for n in sorted(ours.keys() - theirs.keys())]
    lines += [
        f"{n!r}: ours {ours[n]}, official {theirs[n]}"
        for n in sorted(ours.keys() & theirs.keys())
        if ours[n] != theirs[n]
    ]
    return "\n".join(lines)


@pytest.mark.parametrize("module", ["enc", "dyn", "dec", "rew", "con", "pol", "val"])
def test_module_layout_matches_official(reimpl_layout, module):
    ours = {n: v for n, v in reimpl_layout.items() if n.startswith(f"{module}/")}
    theirs = {n: v for n, v in official_layout().items() if n.startswith(f"{module}/")}
    assert theirs, f"the fixture has no {module}/ entries"
    assert ours == theirs, _describe(ours, theirs)


def test_slow_value_has_the_value_layout():
    layout = official_layout()
    slow = {n.removeprefix("slowval/"): v for n, v in layout.items() if n.startswith("slowval/")}
    value = {n.removeprefix("val/"): v for n, v in layout.items() if n.startswith("val/")}
    assert slow and slow == value


def test_flatten_round_trip_and_initialisers(world_model_params):
    flat = parameters.flatten(world_model_params)
    again = parameters.flatten(parameters.unflatten(flat))
    assert again.keys() == flat.keys()
    assert all(np.array_equal(flat[n], again[n]) for n in flat)
    # rewhead outscale 0: the reward head starts at exactly zero (uniform two-hot logits).
    assert not np.any(flat["rew/head/logits/kernel"])
    assert all(not np.any(v) for n, v in flat.items() if n.endswith("/bias"))
    assert all(np.all(v == 1) for n, v in flat.items() if n.endswith("/scale"))
    kernel = np.asarray(flat["dec/sp1/kernel"])  # [8, 16]: bound 2 * 1.1368 / sqrt(fan_in 8)
    assert np.abs(kernel).max() <= 2 * 1.1368 / np.sqrt(8) + 1e-6
    assert np.abs(kernel).max() > 0
