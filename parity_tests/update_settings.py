"""A difference of an update rule that is one setting (parity_tests/settings_explained.py for the
loss stages, here for the rules of test_update_rules.py): the official rule run with one
setting of the official config changed, fitted, reproduces the target's result within the
check's bound. Then the finding is [CONFIG], "explained: opt.lr 4.08e-05 (official 4e-05)".

Settings are tried one at a time, cheapest first, each over a stated range by minimisation of
the check's own margin (worst error over allowed: a coarse grid, then bounded Brent around its
best point) in a parametrisation where the margin is smooth: a multiple of the official value
for rates and scales, 1 - beta for moment decays, the exponent for an epsilon; settings that
take few values (a warmup length, a cadence, a switch) are tried value by value. A rule that is
wrong in form (a global-norm clip for the per-tensor one, moments without their debiasing) is no
setting: no fit reaches it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize

from parity_tests import settings_explained


def _candidates(warmup: int) -> tuple:
    return (0, 1, warmup // 2, warmup - 1, warmup + 1, 2 * warmup)


# rule: (official key, how it is searched, its range)
#   "multiple": official x 10^u, u in range; "decay": 1 - (1 - official) x 10^u;
#   "exponent": 10^u; "linear": the range itself; "values": each of them (a callable of the
#   official value for ranges that depend on it)
SETTINGS = {
    "optimizer": (("opt.lr", "multiple", (-1.0, 1.0)), ("opt.eps", "exponent", (-24.0, -2.0)),
                  ("opt.beta1", "decay", (-1.0, 1.0)), ("opt.beta2", "decay", (-1.0, 1.0)),
                  ("opt.warmup", "values", _candidates), ("opt.agc", "multiple", (-1.0, 1.0))),
    # A rate of 0 (never mixed) is the mechanism missing, not a setting: the range stops at
    # 1/100 of the official rate.
    "slow_critic": (("slowvalue.rate", "multiple", (-2.0, 1.39)),
                    ("slowvalue.every", "values", lambda every: tuple(range(1, 9)))),
    "return_normaliser": (("retnorm.rate", "multiple", (-2.0, 1.99)),
                          ("retnorm.perclo", "linear", (0.0, 49.5)),
                          ("retnorm.perchi", "linear", (50.5, 100.0)),
                          ("retnorm.limit", "multiple", (-3.0, 3.0)),
                          ("retnorm.debias", "values", lambda debias: (not debias,))),
}


def _value(kind: str, official, u: float):
    if kind == "multiple":
        return official * 10.0 ** u
    if kind == "decay":
        return 1.0 - (1.0 - official) * 10.0 ** u
    if kind == "exponent":
        return 10.0 ** u
    return u


def explain(rule: str, official_settings: dict, margin_at: Callable[[str, object], float],
            target=None) -> tuple[str, str, object] | None:
    """(what it means, the key, the fitted value) for the first setting of `rule` whose fitted
    value brings the target within its bound (`margin_at(key, value) <= 1`), or None.
    `official_settings` {dotted key: official value}."""
    for key, kind, search in SETTINGS[rule]:
        was = official_settings[key]
        if kind == "values":
            tried = [(margin_at(key, v), v) for v in search(was) if v != was]
            margin, value = min(tried, key=lambda t: t[0]) if tried else (np.inf, was)
        else:
            value = type(was)(_value(kind, was, _fit(
                lambda u, k=key, kind=kind, was=was: margin_at(k, _value(kind, was, u)),
                search)))
            margin = margin_at(key, value)
        if margin <= 1 and not np.isclose(float(value), float(was), rtol=1e-6, atol=0):
            stated = settings_explained.stated_value(target, key) if target is not None else None
            said = (f"; its official_config states {stated:g}: the code does not do what its "
                    "config says" if stated is not None and np.isclose(stated, float(was))
                    else "")
            return f"{key} {_shown(value)} (official {_shown(was)}){said}", key, value
    return None


GRID = 12  # coarse points over a range before the fine fit


def _fit(margin: Callable[[float], float], bounds: tuple[float, float]) -> float:
    """The u in `bounds` of least margin: the best of a coarse grid, then bounded Brent
    between its neighbours (a margin that is flat over most of the range, as an epsilon's
    far below the gradients, leaves Brent alone nothing to follow)."""
    grid = np.linspace(*bounds, GRID)
    best = int(np.argmin([margin(u) for u in grid]))
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, GRID - 1)]
    fit = optimize.minimize_scalar(margin, bounds=(low, high), method="bounded",
                                   options={"xatol": 1e-7})
    return float(fit.x) if margin(float(fit.x)) <= margin(grid[best]) else float(grid[best])


def _shown(value) -> str:
    return str(value) if isinstance(value, (bool, np.bool_)) else f"{float(value):.4g}"
