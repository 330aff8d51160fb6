"""A difference that is one setting: the official arithmetic of the stage where a difference
enters (parity_tests/stages.py), run with one hyperparameter of the official config changed,
reproduces the target's value. Then the finding is [CONFIG], "explained: imag_loss.lam 0.9
(official 0.95)", not a change of algorithm; where the target's own `official_config` states
the official value, the finding adds that its code does not do what its config says.

Each stage's settings (SETTINGS) are fitted one at a time over a stated range by bounded
scalar minimisation of the check's own margin (worst error over allowed); a setting explains
the difference when the fitted value leaves the target within the check's tolerance. Two
settings changed together, or a change of form (max and min for percentiles, a discount for
contdisc), are not explained: they stay what the check's tag says.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize

from parity_tests import compare, operating_point, stages, tolerances

# (part, quantity): (official config key, lowest, highest) tried one at a time
SETTINGS = {
    ("imag", "ret"): (("imag_loss.lam", 0.0, 1.0),),
    ("imag", "retnorm"): (("retnorm.rate", 0.0, 1.0), ("retnorm.perclo", 0.5, 49.5),
                          ("retnorm.perchi", 50.5, 99.5)),
    ("imag", "policy"): (("imag_loss.actent", 0.0, 0.1),),
    ("imag", "value"): (("imag_loss.slowreg", 0.0, 10.0),),
    ("repl", "ret"): (("repl_loss.lam", 0.0, 1.0),),
    ("repl", "repval"): (("repl_loss.slowreg", 0.0, 10.0),),
    ("world_model", "dyn"): (("dyn.rssm.free_nats", 0.0, 10.0),),
    ("world_model", "rep"): (("dyn.rssm.free_nats", 0.0, 10.0),),
}


def _official_value(config, key: str):
    value = config
    for part in key.split("."):
        value = getattr(value, part)
    return float(value)


def _margin(ours, value, tolerance) -> float:
    comparison = compare.compare(ours, value, tolerance)
    return comparison.margin if not comparison.problems else np.inf


def explain(part: str, quantity: str, ours, target, given: dict, official: dict,
            inputs: dict, config, before: dict | None, tolerance_of: dict,
            reduce: Callable = lambda value: value):
    """(what it means, the official stage with the fitted setting) for the first setting of
    the stage that reproduces the target's `ours`, or None; `reduce` turns the stage's
    per-element value into what the target returns (a declared batch mean)."""
    prepared = stages.prepare(part, quantity, target, given, official, inputs, config,
                              tolerance_of)
    if prepared is None:
        return None
    _, given, chosen = prepared
    tolerance = tolerances.get(tolerance_of[quantity])

    def value_at(key, setting):
        changed = config.update({key: type(_official_value(config, key))(setting)})
        return reduce(stages.recompute(part, quantity, given, inputs, chosen, changed, before))

    for key, lowest, highest in SETTINGS.get((part, quantity), ()):
        fit = optimize.minimize_scalar(lambda v, k=key: _margin(ours, value_at(k, v),
                                                                 tolerance),
                                       bounds=(lowest, highest), method="bounded",
                                       options={"xatol": 1e-6 * max(1.0, highest)})
        setting, was = float(fit.x), _official_value(config, key)
        alternative = value_at(key, setting)
        if _margin(ours, alternative, tolerance) <= 1 and not np.isclose(setting, was):
            stated = stated_value(target, key)
            said = (f"; its official_config states {stated:g}: the code does not do what its "
                    "config says" if stated is not None and np.isclose(stated, was) else "")
            return f"{key} {setting:.4g} (official {was:g}){said}", alternative
    return None


def stated_value(target, key: str) -> float | None:
    """The value the target's own official_config states for `key` at the operating point."""
    stated = getattr(target, "official_config", None)
    if stated is None:
        return None
    try:
        value = stated(operating_point.PRESET).get(key)
    except Exception:  # noqa: BLE001 - the config check reports a broken official_config
        return None
    return float(value) if isinstance(value, (int, float)) else None
