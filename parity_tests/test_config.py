"""[CONFIG]: the target's presets, key by key, against the official configuration as the
adapter states it: `reference_adapter/official_config.py` (its statement of upstream
configs.yaml, which the sdist does not ship) built into the `elements.Config` the official
agent reads.

A target states its configurable values with `official_config(preset)`, and may state apart,
with `fixed_config()`, the official keys its code fixes (one implemented choice, no setting).
Those are reported as fixed in code, not counted as compared values, and still fail the check
when the official preset asks for another choice.

`config/<preset>` compares the keys the target states; a statement that switches an official
loss term off (its loss scale 0) makes the finding a [DIFF]: the algorithm lacks that loss.
The official keys it states neither way are one check of their own, `config/not-stated`
([TOCHECK]: the suite cannot compare them), so a target's real differences do not drown among
keys it leaves out. A target with a single
configuration declares the official preset it follows (`follows_preset`, docs/TARGETS.md
"Declarations"): only that preset is compared, and the others are reported as not provided.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from parity_tests import declarations, operating_point
from reference_adapter.official_config import PRESETS, make_config

TOP_LEVEL_IGNORED = {"seed", "report_length", "replica", "replicas", "report",
                     "report_gradnorms"}  # run bookkeeping, not algorithm
SOURCE = "reference_adapter/official_config.py"


def _flatten(config) -> dict[str, object]:
    flat = {}
    for key, value in dict(config).items():
        if hasattr(value, "items"):
            flat.update({f"{key}.{k}": v for k, v in _flatten(value).items()})
        else:
            flat[key] = list(value) if isinstance(value, tuple) else value
    return flat


def _official(preset: str):
    """The adapter's statement of a configs.yaml preset, and the suite's operating point as
    overrides of its base preset."""
    if preset == operating_point.PRESET:
        return make_config(operating_point.BASE_PRESET, operating_point.OVERRIDES)
    return make_config(preset)


def _problems(ours: dict, fixed: dict, ref: dict) -> list[str]:
    """Differences in what the target states: configurable values, fixed choices, and keys
    stated both ways. Keys stated neither way are `_not_stated`."""
    both = sorted(ours.keys() & fixed.keys() & ref.keys())
    differing = sorted(k for k in ref.keys() & ours.keys() if ours[k] != ref[k])
    fixed_differing = sorted(k for k in (ref.keys() & fixed.keys()) - ours.keys()
                             if fixed[k] != ref[k])
    return ([f"{k}: ours {ours[k]!r}, official {ref[k]!r}" for k in differing]
            + [f"{k}: fixed in the target's code to {fixed[k]!r}, official {ref[k]!r}"
               for k in fixed_differing]
            + [f"{k}: stated both as configurable and as fixed in code" for k in both])


def _removed_terms(ours: dict, fixed: dict, ref: dict) -> list[str]:
    """Loss terms the official preset weighs and the target's statement switches off (a loss
    scale of 0): the algorithm lacks that loss, a [DIFF], not a setting."""
    stated = {**fixed, **ours}
    return sorted(k for k in ref if k.startswith("loss_scales.") and ref[k]
                  and k in stated and not stated[k])


def _not_stated(ours: dict, fixed: dict, ref: dict) -> dict[str, object]:
    """Official keys the target states neither as configurable nor as fixed: {key: official}."""
    return {k: ref[k] for k in sorted(ref.keys() - ours.keys() - fixed.keys())}


COMPARED = [*sorted(PRESETS), operating_point.PRESET]


def _stated(target, preset: str):
    ours_fn = target.official_config
    fixed_fn = getattr(target, "fixed_config", None)  # optional: not every target fixes keys
    ref = {k: v for k, v in _flatten(_official(preset)).items() if k not in TOP_LEVEL_IGNORED}
    return ours_fn(preset), (fixed_fn() if fixed_fn else {}), ref


def _compared_presets(target) -> list[str]:
    followed = declarations.follows_preset(target, PRESETS)
    return COMPARED if followed is None else [followed]


@pytest.mark.parametrize("preset", COMPARED, ids=COMPARED)
def test_config_preset_matches_official(preset, official, target, parity):
    check = f"config/{preset}"
    description = f"every key of the {preset!r} preset the target states against {SOURCE}"
    parity.piece(target, "official_config", check, "CONFIG", description)
    followed = declarations.follows_preset(target, PRESETS)
    if followed is not None and preset != followed:
        # A single-configuration target has no statement of this preset: not provided.
        parity.piece(SimpleNamespace(), "official_config", check, "CONFIG",
                     f"{description} (the target follows {followed!r} only)")
    ours, fixed, ref = _stated(target, preset)
    problems = _problems(ours, fixed, ref)
    compared = ref.keys() & ours.keys()
    fixed_keys = sorted((ref.keys() & fixed.keys()) - ours.keys())
    measured = f"{len(compared)} keys compared, all equal"
    if fixed_keys:
        measured += (f"; {len(fixed_keys)} keys fixed in the target's code (not configurable), "
                     f"all at the official choice: {', '.join(fixed_keys)}")
    unstated = _not_stated(ours, fixed, ref)
    if unstated:
        measured += f"; {len(unstated)} keys not stated (config/not-stated)"
    detail = f"{len(problems)} of the {len(compared) + len(fixed_keys)} stated keys differ: "
    removed = _removed_terms(ours, fixed, ref)
    if removed:
        detail = (f"loss terms removed ({', '.join(k.split('.', 1)[1] for k in removed)}: a "
                  f"[DIFF] of the algorithm, not a setting); {detail}")
    parity.verdict(check, "DIFF" if removed else "CONFIG", description, not problems,
                   detail + "; ".join(problems), measured)


def test_config_states_every_official_key(official, target, parity):
    check = "config/not-stated"
    presets = _compared_presets(target)
    description = (f"official keys of {', '.join(presets)} the target states neither as "
                   "configurable nor as fixed in code")
    parity.piece(target, "official_config", check, "TOCHECK", description)
    unstated = {preset: _not_stated(*_stated(target, preset)) for preset in presets}
    keys = sorted({key for missing in unstated.values() for key in missing})
    lines = []
    for key in keys:
        values = {preset: missing[key] for preset, missing in unstated.items() if key in missing}
        shown = set(map(repr, values.values()))
        official_value = shown.pop() if len(shown) == 1 else ", ".join(
            f"{preset} {value!r}" for preset, value in values.items())
        lines.append(f"{key} (official {official_value})")
    parity.verdict(check, "TOCHECK", description, not keys,
                   f"{len(keys)} official keys not stated: {'; '.join(lines)}",
                   f"every official key of {len(presets)} presets stated")
