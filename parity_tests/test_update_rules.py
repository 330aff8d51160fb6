"""The update rules, for any architecture: what happens after the gradients are taken.

The optimizer, the slow critic's moving average, the total loss the optimizer minimises and
the return normaliser are functions of parameters, gradients, loss terms and returns, not of
the networks. Each is compared with the official rule (reference_adapter/update_rules.py) on
inputs the suite builds (parity_tests/update_problems.py) so that every part of the rule moves
the result: a target with its own networks provides them as pieces (docs/TARGETS.md, "Update
rules") and gets the update checked without a shared weight.

- update_rules/optimizer [DIFF]: the parameters after each update of the official warmup and
  24 past it, from the optimizer's initial state. Compared as each update (new - old) against
  the official one from the same inputs, allowed 1e-4 of that update's largest entry in the leaf
  plus 2 ulps of the parameter (parity_tests/updates.py: an update is only readable to an ulp of
  the parameter it is added to), and judged beyond the official's own spread under one-ulp twins
  of the parameters and gradients (parity_tests/noise_floor.py: the RMS scaling turns a
  rounding-sized change of a tiny gradient into a full-sized one). A difference says which
  update it first enters (inside the warmup, at its first rate-0 update, after it), how the
  target's update norm compares, and in which leaf's regime (clip, epsilon, momentum) it is
  largest.
- update_rules/slow_critic [CRITDIFF]: the slow critic after each of 12 updates, given the
  online critic after each; a difference names the share of the online critic the target mixes
  in at each update against the official's (rate at its cadence, 0 between).
- update_rules/total_loss [DIFF]: the scalar minimised, from given per-element terms; a
  difference names each term's weight as read from the target (one term at a time) and a term
  summed instead of averaged (its weight grows with the number of elements).
- update_rules/return_normaliser [CRITDIFF]: the normaliser's offset and scale after each of
  40 updates, returns spread from 0.05 to 50 (under and over the official limit of 1).

Where the official rule with one setting changed reproduces the target (the learning rate, the
epsilon, a moment's decay, the warmup, the clip; the slow critic's rate or cadence; the
normaliser's rate, percentiles, limit or debiasing; the loss scales as read), the finding is
[CONFIG], "explained: opt.lr 4.08e-05 (official 4e-05)" (parity_tests/update_settings.py).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
import pytest

from parity_tests import (
    compare,
    difference_form,
    noise_floor,
    operating_point,
    piece_results,
    settings_explained,
    tolerances,
    update_problems,
    update_settings,
    updates,
)
from reference_adapter import update_rules
from reference_adapter.official_config import make_config


@functools.cache
def official_config():
    return make_config(operating_point.BASE_PRESET, operating_point.OVERRIDES)


def _block(section: str, **changed) -> dict:
    return {**dict(getattr(official_config(), section)), **changed}


def _settings(section: str) -> dict:
    return {f"{section}.{k}": v for k, v in _block(section).items()}


def _complete(result, piece: str, expected: Mapping[str, tuple[tuple[int, ...], str]]) -> dict:
    """The piece's dict result as float64 arrays, every expected key present with its shape,
    or one line saying what came instead."""
    piece_results.checked(result, piece, expected)
    missing = sorted(set(expected) - set(result))
    if missing:
        pytest.fail(f"the target's piece {piece} returned no {', '.join(map(repr, missing))} "
                    f"(it returns {', '.join(expected)})", pytrace=False)
    return {k: np.asarray(result[k], np.float64) for k in expected}


def _fitted(rule: str, section: str, ours, run, tolerance: str, target):
    """For Recorder.check's `setting`: (what it means, the official rule with the fitted
    setting) where one setting of `section` explains the target's `ours`, or None."""
    bound = tolerances.get(tolerance)

    def margin_at(key, value):
        try:
            alternative = run(_block(section, **{key.split(".", 1)[1]: value}))
        except (AssertionError, ValueError):  # a setting the official code refuses
            return np.inf
        comparison = compare.compare(ours, alternative, bound)
        return comparison.margin if not comparison.problems else np.inf

    explained = update_settings.explain(rule, _settings(section), margin_at, target)
    if explained is None:
        return None
    meaning, key, value = explained
    return meaning, run(_block(section, **{key.split(".", 1)[1]: value}))


# --------------------------------------------------------------------------- optimizer

OPT_CHECK = "update_rules/optimizer"
OPT_DESCRIPTION = ("the parameters after each update of the official warmup and 24 past it, "
                   "from the optimizer's initial state, on given parameters and gradients "
                   "(leaves in each regime of the chain: clip, epsilon, momentum), as updates "
                   "against the official chain's beyond its own spread")


def _changes(trajectory: Mapping, start: Mapping) -> dict[str, np.ndarray]:
    """Each update, new - old, [K, ...] per leaf, in float64."""
    return {name: np.diff(np.concatenate([np.asarray(start[name], np.float64)[None],
                                          np.asarray(trajectory[name], np.float64)]), axis=0)
            for name in start}


def _allowed(changes: Mapping, trajectory: Mapping, start: Mapping) -> dict[str, np.ndarray]:
    """Per element of each update: UPDATE_RTOL of that update's largest entry in the leaf plus
    PARAMETER_ULPS ulps of the parameter it is added to (parity_tests/updates.py)."""
    out = {}
    for name, delta in changes.items():
        before = np.concatenate([np.asarray(start[name])[None],
                                 np.asarray(trajectory[name])[:-1]]).astype(np.float32)
        largest = np.abs(delta).reshape(len(delta), -1).max(axis=1)
        out[name] = (updates.UPDATE_RTOL * largest.reshape(-1, *[1] * (delta.ndim - 1))
                     + updates.PARAMETER_ULPS * np.spacing(np.abs(before)).astype(np.float64))
    return out


def _ratios(ours: Mapping, ref: Mapping, allowed: Mapping) -> dict[str, np.ndarray]:
    return {name: np.abs(ours[name] - ref[name]) / np.maximum(allowed[name], 1e-300)
            for name in ref}


def optimizer_diagnosis(ours: Mapping, ref: Mapping, allowed: Mapping, warmup: int) -> str:
    """Where the target's updates part from the official's: the first update beyond the
    allowed error, the update norm over the official's from there on, the leaf most off."""
    ratios = _ratios(ours, ref, allowed)
    per_step = np.max([r.reshape(len(r), -1).max(axis=1) for r in ratios.values()], axis=0)
    if not (per_step > 1).any():
        return "every update within the allowed error"
    first = int(np.argmax(per_step > 1))
    norm = lambda changes: np.sqrt(sum(np.square(c).reshape(len(c), -1).sum(axis=1)  # noqa: E731
                                       for c in changes.values()))
    ours_norm, ref_norm = norm(ours), norm(ref)
    lines = [f"first differs at update {first + 1} of {len(per_step)} (the warmup ends after "
             f"update {warmup})"]
    if ref_norm[first] == 0:
        lines.append(f"where the official update is 0 (its warmup starts at rate 0) and the "
                     f"target's has norm {ours_norm[first]:.3g}")
    later = slice(first, None)
    moving = ref_norm[later] > 0
    if moving.any():
        factor = ours_norm[later][moving] / ref_norm[later][moving]
        lines.append(f"update norm over the official's from there: x{factor.min():.4g} to "
                     f"x{factor.max():.4g} (median x{np.median(factor):.4g})")
    leaf = max(ratios, key=lambda name: ratios[name].max())
    lines.append(f"largest in {leaf} ({update_problems.REGIMES.get(leaf, 'a leaf')})")
    return "; ".join(lines)


def test_optimizer_matches_the_official_chain(official, target, parity, preset_name):
    fn = parity.piece(target, "optimizer_steps", OPT_CHECK, "DIFF", OPT_DESCRIPTION)
    opt = _block("opt")
    params, grads = update_problems.optimizer_problem(int(opt["warmup"]))
    expected = {name: (grad.shape, "[K, ...]") for name, grad in grads.items()}
    ours = _complete(fn(preset_name, params, grads), "optimizer_steps", expected)
    reference = update_rules.optimizer_steps(opt, params, grads)
    inputs = {**{f"p:{k}": v for k, v in params.items()}, **{f"g:{k}": v for k, v in grads.items()}}
    twin_changes = []
    for twin in noise_floor.twins(inputs, seed=11):
        start = {k[2:]: v for k, v in twin.items() if k.startswith("p:")}
        steps = update_rules.optimizer_steps(
            opt, start, {k[2:]: v for k, v in twin.items() if k.startswith("g:")})
        twin_changes.append(_changes(steps, start))
    ours_changes, ref_changes = _changes(ours, params), _changes(reference, params)
    allowed = _allowed(ref_changes, reference, params)
    judgement = noise_floor.judge(ours_changes, ref_changes, twin_changes, allowed)
    tag, detail = "DIFF", judgement.summary()
    if not judgement.agrees:
        detail += "; " + optimizer_diagnosis(ours_changes, ref_changes, allowed,
                                            int(opt["warmup"]))

        def margin_at(key, value):
            steps = update_rules.optimizer_steps(_block("opt", **{key[4:]: value}), params,
                                                 grads)
            changes = _changes(steps, params)
            ratios = _ratios(ours_changes, changes, _allowed(changes, steps, params))
            return max(float(r.max()) for r in ratios.values())

        explained = update_settings.explain("optimizer", _settings("opt"), margin_at, target)
        if explained is not None:
            tag, detail = "CONFIG", f"{detail}; explained: {explained[0]}"
    parity.verdict(OPT_CHECK, tag, OPT_DESCRIPTION, judgement.agrees, detail,
                   judgement.summary(), margin=judgement.ratio,
                   form=difference_form.form(ours_changes, ref_changes))


# --------------------------------------------------------------------------- slow critic

SLOW_CHECK = "update_rules/slow_critic"
SLOW_DESCRIPTION = ("the slow critic after each of 12 updates from count 0, given the online "
                    "critic after each, against the official SlowModel at the operating "
                    "point's rate and cadence")


def mixed_shares(slow_trajectory: Mapping, slow: Mapping, online: Mapping) -> np.ndarray:
    """The share of the online critic mixed in at each update: the least-squares r of
    new = (1 - r) old + r online over every leaf."""
    shares = []
    before = {k: np.asarray(v, np.float64) for k, v in slow.items()}
    for k in range(len(next(iter(online.values())))):
        moved = sum(float(np.sum((slow_trajectory[n][k] - before[n])
                                 * (online[n][k] - before[n]))) for n in slow)
        room = sum(float(np.sum(np.square(online[n][k] - before[n]))) for n in slow)
        shares.append(moved / room if room else 0.0)
        before = {n: np.asarray(slow_trajectory[n][k], np.float64) for n in slow}
    return np.asarray(shares)


def _shares(shares: np.ndarray) -> str:
    return ", ".join(f"{s:.3g}" for s in shares[:8]) + (", ..." if len(shares) > 8 else "")


def test_slow_critic_matches_the_official_moving_average(official, target, parity,
                                                         preset_name):
    fn = parity.piece(target, "slow_critic_steps", SLOW_CHECK, "CRITDIFF", SLOW_DESCRIPTION)
    slow, online = update_problems.slow_critic_problem()
    expected = {name: (value.shape, "[K, ...]") for name, value in online.items()}
    ours = _complete(fn(preset_name, slow, online), "slow_critic_steps", expected)
    reference = update_rules.slow_critic_steps(_block("slowvalue"), slow, online)

    def diagnosis():
        return (f"share of the online critic mixed in at each update: target "
                f"{_shares(mixed_shares(ours, slow, online))}; official "
                f"{_shares(mixed_shares(reference, slow, online))}")

    parity.check(SLOW_CHECK, "CRITDIFF", SLOW_DESCRIPTION, ours, reference, "elementwise",
                 setting=lambda: _fitted(
                     "slow_critic", "slowvalue", ours,
                     lambda block: update_rules.slow_critic_steps(block, slow, online),
                     "elementwise", target),
                 diagnosis=diagnosis)


# --------------------------------------------------------------------------- total loss

TOTAL_CHECK = "update_rules/total_loss"
TOTAL_DESCRIPTION = ("the scalar the optimizer minimises from given per-element loss terms "
                     "(4 x 10), against the official sum of each term's mean times its scale")
SHAPES = ((4, 10), (2, 6))  # two batch shapes: a weight that changes with them is a sum


def read_weights(total, names, shape) -> dict[str, float]:
    """Each term's weight in the target's total: the total with that term all ones and every
    other zero."""
    zeros = update_problems.loss_terms(names, *shape)
    zeros = {k: np.zeros_like(v) for k, v in zeros.items()}
    return {name: float(total({**zeros, name: np.ones_like(zeros[name])})) for name in names}


def _scale_key(name: str, scales: Mapping) -> str:
    fixed = ("rew", "con", "dyn", "rep", "policy", "value", "repval")
    return f"loss_scales.{name if name in fixed else 'rec'}"


def test_total_loss_matches_the_official_scales(official, official_agent, target, parity,
                                                obs_space, act_space, preset_name):
    fn = parity.piece(target, "total_loss", TOTAL_CHECK, "DIFF", TOTAL_DESCRIPTION)
    scales = official_agent.loss_scales
    total = lambda terms: float(np.asarray(fn(obs_space, act_space, preset_name, terms)))  # noqa: E731
    terms = update_problems.loss_terms(scales, *SHAPES[0])
    ours = np.float64(total(terms))
    reference = np.float64(update_rules.total_loss(scales, terms))
    weights = [read_weights(total, scales, shape) for shape in SHAPES]

    def summed() -> list[str]:
        return [name for name in sorted(scales)
                if not np.isclose(weights[0][name], weights[1][name], rtol=1e-5, atol=0)]

    def diagnosis():
        read = ", ".join(f"{name} {weights[0][name]:.4g} (official {scales[name]:g})"
                         for name in sorted(scales)
                         if not np.isclose(weights[0][name], scales[name], rtol=1e-5))
        text = f"weights read from the target (each term alone, all ones): {read or 'none'}"
        for name in summed():
            text += (f"; {name} is summed, not averaged: its weight goes from "
                     f"{weights[0][name]:.4g} at {SHAPES[0][0]}x{SHAPES[0][1]} to "
                     f"{weights[1][name]:.4g} at {SHAPES[1][0]}x{SHAPES[1][1]}")
        return text

    def setting():
        if summed():
            return None
        changed = [name for name in sorted(scales)
                   if not np.isclose(weights[0][name], scales[name], rtol=1e-5)]
        if not changed:
            return None
        meanings = []
        for name in changed:
            key = _scale_key(name, scales)
            stated = settings_explained.stated_value(target, key)
            said = (" (its official_config states the official value)"
                    if stated is not None and np.isclose(stated, scales[name]) else "")
            meanings.append(f"{key} {weights[0][name]:.4g} (official {scales[name]:g}){said}")
        return "; ".join(meanings), np.float64(update_rules.total_loss(weights[0], terms))

    parity.check(TOTAL_CHECK, "DIFF", TOTAL_DESCRIPTION, ours, reference, "elementwise",
                 setting=setting, diagnosis=diagnosis)


# --------------------------------------------------------------------------- return normaliser

NORM_CHECK = "update_rules/return_normaliser"
NORM_DESCRIPTION = (f"the return normaliser's offset and scale after each of "
                    f"{update_problems.RETURN_STEPS} updates from its initial state, returns "
                    "spread from 0.05 to 50, against the official Normalize (retnorm)")


def normaliser_diagnosis(ours: Mapping, ref: Mapping) -> str:
    bound = tolerances.get("elementwise")
    off = {k: np.abs(ours[k] - ref[k]) > bound.atol + bound.rtol * np.abs(ref[k]) for k in ref}
    steps = np.flatnonzero(off["offset"] | off["scale"])
    if not len(steps):
        return "every update within the tolerance"
    k = int(steps[0])
    return (f"first differs at update {k + 1} of {len(ref['scale'])}: offset "
            f"{ours['offset'][k]:.4g} (official {ref['offset'][k]:.4g}), scale "
            f"{ours['scale'][k]:.4g} (official "
            f"{ref['scale'][k]:.4g}, limit {_block('retnorm')['limit']:g}); scale over the "
            f"official's from x{np.min(ours['scale'] / ref['scale']):.4g} to "
            f"x{np.max(ours['scale'] / ref['scale']):.4g}")


def test_return_normaliser_matches_the_official(official, target, parity, preset_name):
    fn = parity.piece(target, "return_normaliser", NORM_CHECK, "CRITDIFF", NORM_DESCRIPTION)
    returns = update_problems.returns_problem()
    steps = (len(returns),)
    expected = {"offset": (steps, "[K]"), "scale": (steps, "[K]")}
    ours = _complete(fn(preset_name, returns), "return_normaliser", expected)

    def official_stats(block):
        out = update_rules.return_normaliser(block, returns)
        return {k: np.asarray(out[k], np.float64) for k in expected}

    reference = official_stats(_block("retnorm"))
    parity.check(NORM_CHECK, "CRITDIFF", NORM_DESCRIPTION, ours, reference, "elementwise",
                 setting=lambda: _fitted("return_normaliser", "retnorm", ours, official_stats,
                                         "elementwise", target),
                 diagnosis=lambda: normaliser_diagnosis(ours, reference))
