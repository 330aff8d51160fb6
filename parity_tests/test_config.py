"""[CONFIG]: the target's presets, key by key, against the official configuration as the
adapter states it: `reference_adapter/official_config.py` (its statement of upstream
configs.yaml, which the sdist does not ship) built into the `elements.Config` the official
agent reads.

A target states its configurable values with `official_config(preset)`, and may state apart,
with `fixed_config()`, the official keys its code fixes (one implemented choice, no setting).
Those are reported as fixed in code, not counted as compared values, and still fail the check
when the official preset asks for another choice.
"""

from __future__ import annotations

import pytest

from parity_tests import operating_point
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
    both = sorted(ours.keys() & fixed.keys() & ref.keys())
    missing = sorted(ref.keys() - ours.keys() - fixed.keys())
    differing = sorted(k for k in ref.keys() & ours.keys() if ours[k] != ref[k])
    fixed_differing = sorted(k for k in (ref.keys() & fixed.keys()) - ours.keys()
                             if fixed[k] != ref[k])
    return ([f"{k}: ours {ours[k]!r}, official {ref[k]!r}" for k in differing]
            + [f"{k}: fixed in the target's code to {fixed[k]!r}, official {ref[k]!r}"
               for k in fixed_differing]
            + [f"{k}: stated both as configurable and as fixed in code" for k in both]
            + [f"{k}: not stated by the target (official {ref[k]!r})" for k in missing])


COMPARED = [*sorted(PRESETS), operating_point.PRESET]


@pytest.mark.parametrize("preset", COMPARED, ids=COMPARED)
def test_config_preset_matches_official(preset, official, target, parity):
    check = f"config/{preset}"
    description = f"every key of the {preset!r} preset against {SOURCE}"
    ours_fn = parity.piece(target, "official_config", check, "CONFIG", description)
    fixed_fn = getattr(target, "fixed_config", None)  # optional: not every target fixes keys
    ours, fixed = ours_fn(preset), (fixed_fn() if fixed_fn else {})
    ref = {k: v for k, v in _flatten(_official(preset)).items() if k not in TOP_LEVEL_IGNORED}
    problems = _problems(ours, fixed, ref)
    compared = ref.keys() & ours.keys()
    fixed_keys = sorted((ref.keys() & fixed.keys()) - ours.keys())
    measured = f"{len(compared)} keys compared, all equal"
    if fixed_keys:
        measured += (f"; {len(fixed_keys)} keys fixed in the target's code (not configurable), "
                     f"all at the official choice: {', '.join(fixed_keys)}")
    parity.verdict(check, "CONFIG", description, not problems, "; ".join(problems), measured)
