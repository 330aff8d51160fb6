"""[CONFIG]: the target's presets, key by key, against the official configuration."""

from __future__ import annotations

import pytest

from parity_tests import operating_point
from reference_adapter.official_config import PRESETS, make_config

TOP_LEVEL_IGNORED = {"seed", "report_length", "replica", "replicas", "report",
                     "report_gradnorms"}  # run bookkeeping, not algorithm


def _flatten(config) -> dict[str, object]:
    flat = {}
    for key, value in dict(config).items():
        if hasattr(value, "items"):
            flat.update({f"{key}.{k}": v for k, v in _flatten(value).items()})
        else:
            flat[key] = list(value) if isinstance(value, tuple) else value
    return flat


def _official(preset: str):
    """configs.yaml presets, and the suite's operating point as overrides of its base."""
    if preset == operating_point.PRESET:
        return make_config(operating_point.BASE_PRESET, operating_point.OVERRIDES)
    return make_config(preset)


COMPARED = [*sorted(PRESETS), operating_point.PRESET]


@pytest.mark.parametrize("preset", COMPARED, ids=COMPARED)
def test_config_preset_matches_official(preset, official, target, parity):
    check = f"config/{preset}"
    description = f"every key of the {preset!r} preset against the official configuration"
    ours_fn = parity.piece(target, "official_config", check, "CONFIG", description)
    ours = ours_fn(preset)
    ref = {k: v for k, v in _flatten(_official(preset)).items() if k not in TOP_LEVEL_IGNORED}
    missing = sorted(ref.keys() - ours.keys())
    differing = sorted(k for k in ref.keys() & ours.keys() if ours[k] != ref[k])
    detail = "; ".join(
        [f"{k}: ours {ours[k]!r}, official {ref[k]!r}" for k in differing]
        + [f"{k}: not stated by the target (official {ref[k]!r})" for k in missing]
    )
    parity.verdict(check, "CONFIG", description, not (missing or differing), detail,
                   f"{len(ref)} official keys, all equal")
