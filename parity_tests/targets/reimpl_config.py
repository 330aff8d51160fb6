"""The reimpl's typed config, stated in the official config's dotted keys.

`official_config` holds only values read from the reimpl's `AgentConfig`. Official keys the
reimpl does not make configurable (it implements one choice, the official default) are stated
apart by `fixed_config`, with the choice its code implements: test_config reports them as fixed
in code, not as compared config values, and still fails [CONFIG] if a preset sets one of them
to anything else.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from parity_tests import operating_point
from reimpl import agent as agent_lib
from reimpl import heads
from reimpl.config import AgentConfig, override, preset
from reimpl.spaces import Space

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

# Official key -> (the choice the reimpl's code implements, where it is fixed).
FIXED_IN_CODE: dict[str, tuple[object, str]] = {
    "dyn.typ": ("rssm", "reimpl/rssm.py is the only dynamics model"),
    "enc.typ": ("simple", "reimpl/encoder.py is the only encoder (official SimpleEncoder)"),
    "dec.typ": ("simple", "reimpl/decoder.py is the only decoder (official SimpleDecoder)"),
    "policy_dist_disc": (heads.policy_output(Space((), "int32", classes=2)),
                         "reimpl/heads.py policy_output"),
    "policy_dist_cont": (heads.policy_output(Space((1,), "float32")),
                         "reimpl/heads.py policy_output"),
    "opt.momentum": (True, "reimpl/optimizer.py make_optimizer always chains scale_by_momentum"),
    "opt.wd": (0.0, "reimpl/optimizer.py make_optimizer has no weight decay"),
    "opt.schedule": ("const", "reimpl/optimizer.py learning_rate: constant after warmup"),
    "opt.anneal": (0, "reimpl/optimizer.py learning_rate: no annealing"),
    "enc.simple.outer": (False, "reimpl/encoder.py: every stage halves the resolution"),
    "enc.simple.strided": (False, "reimpl/encoder.py: convolution, then 2x2 max pooling"),
    "dec.simple.outer": (False, "reimpl/decoder.py: every stage doubles the resolution"),
    "dec.simple.strided": (False, "reimpl/decoder.py: nearest upsampling, then convolution"),
    **{f"{section}.winit": ("trunc_normal_in", "reimpl/nets.py truncated_normal_init")
       for section in ("dyn.rssm", "enc.simple", "dec.simple", "rewhead", "conhead", "policy",
                       "value")},
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
    return {k: v for k, v in flat.items() if k not in UNMAPPED}


def _reimpl_key(official_key: str) -> str:
    for field, section in SECTIONS.items():
        if official_key.startswith(section + "."):
            return f"{field}.{official_key[len(section) + 1:]}"
    return official_key


def with_official_overrides(config: AgentConfig, overrides: dict[str, object]) -> AgentConfig:
    """`config` with official overrides applied: dotted keys or regexes, matched against the
    official keys the reimpl states, as the official `elements.Config.update` matches them."""
    keys = list(as_official(config))
    assignments = []
    for pattern, value in overrides.items():
        matched = [k for k in keys if re.compile(pattern).match(k)]
        if not matched:
            fixed = [k for k in FIXED_IN_CODE if re.compile(pattern).match(k)]
            raise ValueError(
                f"official override {pattern!r} names no key the reimpl makes configurable"
                + (f" (the reimpl fixes {fixed} in code)" if fixed else ""))
        text = ":".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        assignments += [f"{_reimpl_key(k)}={text}" for k in matched]
    return override(config, ",".join(assignments))


def config(preset_name: str) -> AgentConfig:
    """An official preset or the suite's operating point (parity_tests/operating_point.py)."""
    if preset_name == operating_point.PRESET:
        return with_official_overrides(preset(operating_point.BASE_PRESET),
                                       operating_point.OVERRIDES)
    return preset(preset_name)


@functools.cache
def agent(obs_items: tuple, act_items: tuple, preset_name: str) -> agent_lib.Agent:
    """The reimpl agent for spaces given as (key, space) item tuples, at a preset."""
    return agent_lib.Agent.build(dict(obs_items), dict(act_items), config(preset_name))


def official_config(preset_name: str) -> dict[str, object]:
    return as_official(config(preset_name))


def fixed_config() -> dict[str, object]:
    """Official keys the reimpl does not make configurable -> the choice its code implements."""
    return {key: value for key, (value, _) in FIXED_IN_CODE.items()}
