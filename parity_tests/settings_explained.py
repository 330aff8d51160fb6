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

import jax
import numpy as np
from scipy import optimize

from parity_tests import compare, operating_point, stages, tolerances

# (part, quantity): (official config key, lowest, highest) tried one at a time. A term's scale
# is fitted over both signs: fitted with the sign opposite to the official one, the term enters
# the loss sign-flipped, a [BUG] (a coding error), not a setting.
SETTINGS = {
    ("imag", "ret"): (("imag_loss.lam", 0.0, 1.0),),
    ("imag", "retnorm"): (("retnorm.rate", 0.0, 1.0), ("retnorm.perclo", 0.5, 49.5),
                          ("retnorm.perchi", 50.5, 99.5)),
    ("imag", "policy"): (("imag_loss.actent", -0.1, 0.1),),
    ("imag", "entropy_term"): (("imag_loss.actent", -0.1, 0.1),),
    ("imag", "value"): (("imag_loss.slowreg", -10.0, 10.0),),
    ("imag", "slowreg_term"): (("imag_loss.slowreg", -10.0, 10.0),),
    ("repl", "ret"): (("repl_loss.lam", 0.0, 1.0),),
    ("repl", "repval"): (("repl_loss.slowreg", -10.0, 10.0),),
    ("repl", "slowreg_term"): (("repl_loss.slowreg", -10.0, 10.0),),
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


def _fit(part, quantity, ours, target, given, official, inputs, config, before,
         tolerance_of, reduce):
    """(key, fitted value, official value, prepared stage, changed config) of the first setting
    of the stage that reproduces `ours`, or None."""
    prepared = stages.prepare(part, quantity, target, given, official, inputs, config,
                              tolerance_of)
    if prepared is None:
        return None
    _, given, chosen = prepared
    tolerance = tolerances.get(tolerance_of[quantity])

    def changed(key, setting):
        return config.update({key: type(_official_value(config, key))(setting)})

    def value_at(key, setting):
        return reduce(stages.recompute(part, quantity, given, inputs, chosen,
                                       changed(key, setting), before))

    for key, lowest, highest in SETTINGS.get((part, quantity), ()):
        was = _official_value(config, key)
        setting = fit(ours, lambda v, k=key: value_at(k, v), lowest, highest, was, tolerance)
        if setting is not None:
            return (key, setting, was, value_at(key, setting),
                    (given, chosen, changed(key, setting)))
    return None


def fit(ours, value_at: Callable[[float], object], lowest: float, highest: float, was: float,
        tolerance) -> float | None:
    """The value in [lowest, highest] at which `value_at` reproduces `ours` within the
    tolerance, other than `was`, or None (bounded scalar minimisation of the margin)."""
    found = optimize.minimize_scalar(lambda v: _margin(ours, value_at(v), tolerance),
                                     bounds=(lowest, highest), method="bounded",
                                     options={"xatol": 1e-9 * (highest - lowest)})
    setting = float(found.x)
    if _margin(ours, value_at(setting), tolerance) <= 1 and not np.isclose(setting, was):
        return setting
    return None


def _meaning(target, key: str, setting: float, was: float) -> tuple[str, str]:
    """(what a fitted setting means, its tag)."""
    if setting * was < 0:
        return (f"{key} {setting:.4g} (official {was:g}): the term enters with its sign "
                f"flipped", "BUG")
    stated = stated_value(target, key)
    said = (f"; its official_config states {stated:g}: the code does not do what its config "
            "says" if stated is not None and np.isclose(stated, was) else "")
    return f"{key} {setting:.4g} (official {was:g}){said}", "CONFIG"


def explain(part: str, quantity: str, ours, target, given: dict, official: dict,
            inputs: dict, config, before: dict | None, tolerance_of: dict,
            reduce: Callable = lambda value: value):
    """(what it means, the official stage with the fitted setting, its tag: [CONFIG], or
    [BUG] for a scale fitted with its sign flipped) for the first setting of the stage that
    reproduces the target's `ours`, or None; `reduce` turns the stage's per-element value into
    what the target returns (a declared batch mean)."""
    found = _fit(part, quantity, ours, target, given, official, inputs, config, before,
                 tolerance_of, reduce)
    if found is None:
        return None
    key, setting, was, alternative, _ = found
    meaning, tag = _meaning(target, key, setting, was)
    return meaning, alternative, tag


def explain_gradient(part: str, loss: str, target, given: dict, official: dict, inputs: dict,
                     config, before: dict | None, tolerance_of: dict,
                     reduce: Callable = lambda value: value,
                     scale: Callable = lambda value: value):
    """The same for the loss's gradient: the setting fitted on the target's loss value, then
    the official gradient at it (`scale` as the gradient check applies it), or None."""
    found = _fit(part, loss, given[loss], target, given, official, inputs, config, before,
                 tolerance_of, reduce)
    if found is None:
        return None
    key, setting, was, _, (prepared, chosen, changed) = found
    meaning, tag = _meaning(target, key, setting, was)
    try:
        gradient = stages.recompute_grad(part, loss, prepared, inputs, chosen, changed)
    except (TypeError, jax.errors.JAXTypeError):  # a block that is not a JAX function
        return None
    return meaning, scale(gradient), tag


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
