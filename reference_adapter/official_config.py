"""The official agent configuration, stated here as facts from upstream `configs.yaml`.

The sdist ships no configs.yaml, so the adapter keeps its own statement of the values the
official `dreamerv3.agent.Agent` reads: the `defaults.agent` section plus the top-level keys
`main.py` passes into the agent config. The reimpl states the same defaults independently
(reimpl/config.py); a parity check compares the two statements.
"""

from __future__ import annotations

import copy
from typing import Any

AGENT_DEFAULTS: dict[str, Any] = {
    "loss_scales": {
        "rec": 1.0, "rew": 1.0, "con": 1.0, "dyn": 1.0, "rep": 0.1,
        "policy": 1.0, "value": 1.0, "repval": 0.3,
    },
    "opt": {
        "lr": 4e-5, "agc": 0.3, "eps": 1e-20, "beta1": 0.9, "beta2": 0.999, "momentum": True,
        "wd": 0.0, "schedule": "const", "warmup": 1000, "anneal": 0,
    },
    "ac_grads": False,
    "dyn": {"typ": "rssm", "rssm": {
        "deter": 8192, "hidden": 1024, "stoch": 32, "classes": 64, "act": "silu",
        "norm": "rms", "unimix": 0.01, "outscale": 1.0, "winit": "trunc_normal_in",
        "imglayers": 2, "obslayers": 1, "dynlayers": 1, "absolute": False, "blocks": 8,
        "free_nats": 1.0,
    }},
    "enc": {"typ": "simple", "simple": {
        "depth": 64, "mults": [2, 3, 4, 4], "layers": 3, "units": 1024, "act": "silu",
        "norm": "rms", "winit": "trunc_normal_in", "symlog": True, "outer": False,
        "kernel": 5, "strided": False,
    }},
    "dec": {"typ": "simple", "simple": {
        "depth": 64, "mults": [2, 3, 4, 4], "layers": 3, "units": 1024, "act": "silu",
        "norm": "rms", "outscale": 1.0, "winit": "trunc_normal_in", "outer": False,
        "kernel": 5, "bspace": 8, "strided": False,
    }},
    "rewhead": {
        "layers": 1, "units": 1024, "act": "silu", "norm": "rms", "output": "symexp_twohot",
        "outscale": 0.0, "winit": "trunc_normal_in", "bins": 255,
    },
    "conhead": {
        "layers": 1, "units": 1024, "act": "silu", "norm": "rms", "output": "binary",
        "outscale": 1.0, "winit": "trunc_normal_in",
    },
    "policy": {
        "layers": 3, "units": 1024, "act": "silu", "norm": "rms", "minstd": 0.1,
        "maxstd": 1.0, "outscale": 0.01, "unimix": 0.01, "winit": "trunc_normal_in",
    },
    "value": {
        "layers": 3, "units": 1024, "act": "silu", "norm": "rms", "output": "symexp_twohot",
        "outscale": 0.0, "winit": "trunc_normal_in", "bins": 255,
    },
    "policy_dist_disc": "categorical",
    "policy_dist_cont": "bounded_normal",
    "imag_last": 0,
    "imag_length": 15,
    "horizon": 333,
    "contdisc": True,
    "imag_loss": {"slowtar": False, "lam": 0.95, "actent": 3e-4, "slowreg": 1.0},
    "repl_loss": {"slowtar": False, "lam": 0.95, "slowreg": 1.0},
    "slowvalue": {"rate": 0.02, "every": 1},
    "retnorm": {
        "impl": "perc", "rate": 0.01, "limit": 1.0, "perclo": 5.0, "perchi": 95.0,
        "debias": False,
    },
    "valnorm": {"impl": "none", "rate": 0.01, "limit": 1e-8},
    "advnorm": {"impl": "none", "rate": 0.01, "limit": 1e-8},
    "reward_grad": True,
    "repval_loss": True,
    "repval_grad": True,
    "report": True,
    "report_gradnorms": False,
}

# Top-level keys main.py copies into the agent config (defaults section).
TOP_LEVEL_DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "batch_size": 16,
    "batch_length": 64,
    "replay_context": 1,
    "report_length": 32,
    "replica": 0,
    "replicas": 1,
}

# configs.yaml presets, as the regex overrides they apply to the agent section.
PRESETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "debug": {
        r".*\.bins": 5, r".*\.layers": 1, r".*\.units": 8, r".*\.stoch": 2,
        r".*\.classes": 4, r".*\.deter": 8, r".*\.hidden": 3, r".*\.blocks": 4,
        r".*\.depth": 2,
    },
}
for _name, (_deter, _hidden, _classes, _depth, _units) in {
    "size1m": (512, 64, 4, 4, 64),
    "size12m": (2048, 256, 16, 16, 256),
    "size25m": (3072, 384, 24, 24, 384),
    "size50m": (4096, 512, 32, 32, 512),
    "size100m": (6144, 768, 48, 48, 768),
    "size200m": (8192, 1024, 64, 64, 1024),
    "size400m": (12288, 1536, 96, 96, 1536),
}.items():
    PRESETS[_name] = {
        r".*\.rssm": {"deter": _deter, "hidden": _hidden, "classes": _classes},
        r".*\.depth": _depth,
        r".*\.units": _units,
    }

# configs.yaml `debug` also sets these top-level keys.
PRESET_TOP_LEVEL = {"debug": {"batch_size": 8, "batch_length": 10, "report_length": 5}}


def make_config(preset: str = "defaults", overrides: dict[str, Any] | None = None):
    """An `elements.Config` for the official Agent: defaults, then a preset, then overrides.

    Override keys are dotted paths (`dyn.rssm.deter`) or regexes (`.*\\.units`), as in the
    official command line; top-level keys (`replay_context`, `batch_size`) work too.
    """
    from .loader import load

    elements = load().elements
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    top_level = {**TOP_LEVEL_DEFAULTS, **PRESET_TOP_LEVEL.get(preset, {})}
    config = elements.Config({**copy.deepcopy(AGENT_DEFAULTS), **top_level})
    config = config.update(PRESETS[preset])
    if overrides:
        config = config.update(overrides)
    return config
