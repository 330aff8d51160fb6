"""The reimpl's typed config, stated in the official config's dotted keys.

Fields the official config has but the reimpl fixes in code (it implements only the official
defaults for them) appear with the value the reimpl hard-codes, so a preset that changed one
would show up as a [CONFIG] finding.
"""

from __future__ import annotations

import dataclasses
import re

from parity_tests import operating_point
from reimpl.config import AgentConfig, override, preset

# reimpl sub-config -> official section prefix
SECTIONS = {
    "rssm": "dyn.rssm", "enc": "enc.simple", "dec": "dec.simple", "rewhead": "rewhead",
    "conhead": "conhead", "policy": "policy", "value": "value", "opt": "opt",
    "retnorm": "retnorm", "valnorm": "valnorm", "advnorm": "advnorm",
    "loss_scales": "loss_scales", "imag_loss": "imag_loss", "repl_loss": "repl_loss",
    "slowvalue": "slowvalue",
}

# Reimpl fields with no key in the official configs.yaml (official code defaults instead).
UNMAPPED = {"dec.simple.symlog", "rewhead.minstd", "rewhead.maxstd", "rewhead.unimix",
            "conhead.bins", "conhead.minstd", "conhead.maxstd", "conhead.unimix",
            "policy.output", "policy.bins", "value.minstd", "value.maxstd", "value.unimix",
            "valnorm.perclo", "valnorm.perchi", "valnorm.debias", "advnorm.perclo",
            "advnorm.perchi", "advnorm.debias", "compute_dtype"}

HARD_CODED = {
    "dyn.typ": "rssm", "enc.typ": "simple", "dec.typ": "simple",
    "policy_dist_disc": "categorical", "policy_dist_cont": "bounded_normal",
    "opt.momentum": True, "opt.wd": 0.0, "opt.schedule": "const", "opt.anneal": 0,
    "enc.simple.outer": False, "enc.simple.strided": False,
    "dec.simple.outer": False, "dec.simple.strided": False,
    **{f"{section}.winit": "trunc_normal_in" for section in (
        "dyn.rssm", "enc.simple", "dec.simple", "rewhead", "conhead", "policy", "value")},
}


def as_official(config: AgentConfig) -> dict[str, object]:
    """Dotted official key -> value, for every field the reimpl config states."""
    flat = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            for sub in dataclasses.fields(value):
                key = f"{SECTIONS[field.name]}.{sub.name}"
                flat[key] = getattr(value, sub.name)
        else:
            flat[field.name] = value
    flat = {k: (list(v) if isinstance(v, tuple) else v) for k, v in flat.items()}
    flat = {k: v for k, v in flat.items() if k not in UNMAPPED}
    return {**flat, **HARD_CODED}


def _reimpl_key(official_key: str) -> str:
    for field, section in SECTIONS.items():
        if official_key.startswith(section + "."):
            return f"{field}.{official_key[len(section) + 1:]}"
    return official_key


def with_official_overrides(config: AgentConfig, overrides: dict[str, object]) -> AgentConfig:
    """`config` with official overrides applied: dotted keys or regexes, matched against the
    official keys the reimpl states, as the official `elements.Config.update` matches them."""
    keys = [k for k in as_official(config) if k not in HARD_CODED]
    assignments = []
    for pattern, value in overrides.items():
        matched = [k for k in keys if re.compile(pattern).match(k)]
        if not matched:
            raise ValueError(f"official override {pattern!r} names no key the reimpl states")
        text = ":".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        assignments += [f"{_reimpl_key(k)}={text}" for k in matched]
    return override(config, ",".join(assignments))


def config(preset_name: str) -> AgentConfig:
    """An official preset or the suite's operating point (parity_tests/operating_point.py)."""
    if preset_name == operating_point.PRESET:
        return with_official_overrides(preset(operating_point.BASE_PRESET),
                                       operating_point.OVERRIDES)
    return preset(preset_name)


def official_config(preset_name: str) -> dict[str, object]:
    return as_official(config(preset_name))
