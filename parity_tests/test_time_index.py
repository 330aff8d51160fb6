"""Is the target's t the official t? Dependency patterns over time, from network outputs.

One input is perturbed at one step t (a reward raised by 3, a continuation halved, a terminal
flag flipped) and each output is recorded where it moved: pattern[b, t, s] says whether the
change at step t of trajectory b reaches output step s. Both sides run on the same outputs
(parity_tests/network_outputs.py) through the architecture-free pieces, so no weights are
shared. A target whose pattern is the official one shifted by k steps reads that input k steps
late (or early): a time-index [BUG], named as such. Any other difference in the pattern (a
dependency missing or added: another flag read, a weight left out) is not a time index; it is
reported as [TOCHECK] with the first (t, s) that differs, and the value checks of the same
quantity give it its severity.
"""

from __future__ import annotations

import numpy as np
import pytest

from parity_tests import network_outputs, operating_point
from reference_adapter import actor_critic, world_model_terms

PROBES = {  # check: (piece, input, output, perturbation)
    "time_index/imag/reward->ret": ("imag", "reward", "ret", "add"),
    "time_index/imag/con->ret": ("imag", "con", "ret", "halve"),
    "time_index/imag/con->weight": ("imag", "con", "weight", "halve"),
    "time_index/repl/reward->ret": ("repl", "reward", "ret", "add"),
    "time_index/repl/is_terminal->ret": ("repl", "is_terminal", "ret", "flip"),
    "time_index/world_model/reward->rew": ("wm", "reward", "rew", "add"),
    "time_index/world_model/is_terminal->con": ("wm", "is_terminal", "con", "flip"),
}
# A step counts as reached when the output moves by more than this, relative to the output's
# scale: float32 rounding is ~1e-7 relative per op and stays below 1e-6 here. The smallest real
# effects measured: a reward raised by 3 moves a two-hot loss under a broad bump by ~1e-4
# relative (by 4e-5 when raised by 1, which a 1e-4 threshold missed), and a return through 15
# steps of lam * con by ~1e-2.
REACHED = 1e-5
REWARD_STEP = 3.0
MAX_SHIFT = 2
TRAJECTORIES = 6


def _perturb(values, t, how):
    changed = np.array(values, copy=True)
    if how == "add":
        changed[:, t] += REWARD_STEP
    elif how == "halve":
        changed[:, t] *= 0.5
    else:
        changed[:, t] = ~changed[:, t]
    return changed


def pattern(run, inputs, name, output, how) -> np.ndarray:
    """[B, T_in, T_out] booleans: does a change of inputs[name][:, t] move output[:, s]?"""
    base = np.asarray(run(inputs)[output], np.float64)
    scale = max(1.0, float(np.abs(base).max()))
    steps = inputs[name].shape[1]
    moved = []
    for t in range(steps):
        out = np.asarray(run({**inputs, name: _perturb(inputs[name], t, how)})[output])
        moved.append(np.abs(out - base) > REACHED * scale)
    return np.stack(moved, 1)


def _matches_shifted(ours: np.ndarray, official: np.ndarray, k: int) -> bool:
    """Does the target's input step t act like the official input step t + k (on the steps
    where both exist)? k = 1: the target uses each input one step after the official does."""
    steps, edge = official.shape[1], abs(k)
    # Inputs within |k| steps of either end are left out: what a shifted read does there
    # depends on how the target pads (repeats, zeros, drops), not on the shift.
    mine = ours[:, max(0, -k) + edge:steps - max(0, k) - edge]
    theirs = official[:, max(0, k) + edge:steps - max(0, -k) - edge]
    return bool(theirs.any()) and np.array_equal(mine, theirs)


def diagnose(ours: np.ndarray, official: np.ndarray, name: str, output: str):
    """-> (agrees, tag, detail)."""
    if np.array_equal(ours, official):
        return True, "BUG", ""
    for k in [k for k in range(-MAX_SHIFT, MAX_SHIFT + 1) if k]:
        if _matches_shifted(ours, official, k):
            when = "late" if k > 0 else "early"
            return False, "BUG", (
                f"time index: {name}[t] acts on {output} as the official {name}[t{k:+d}] does "
                f"(the target uses each {name} {abs(k)} step(s) {when})")
    b, t, s = np.argwhere(ours != official)[0]
    return False, "TOCHECK", (
        f"not a time shift: {name}[{t}] {'reaches' if ours[b, t, s] else 'misses'} "
        f"{output}[{s}] in trajectory {b}, where the official "
        f"{'does not' if ours[b, t, s] else 'does'}")


@pytest.fixture(scope="module")
def inputs(act_space, batch, official_agent):
    rssm = official_agent.config.dyn.rssm
    return {"imag": network_outputs.imagination(act_space["action"].classes, TRAJECTORIES),
            "repl": network_outputs.replay({k: v[:, 1:] for k, v in batch.items()}),
            "wm": network_outputs.world_model(batch, rssm.stoch, rssm.classes)}


@pytest.mark.parametrize("check", sorted(PROBES), ids=sorted(PROBES))
def test_time_index(check, target, parity, preset_name, official_agent, shared_variables,
                    inputs):
    part, name, output, how = PROBES[check]
    description = f"which {output} steps a change of {name} at step t reaches"
    retnorm = operating_point.retnorm_state()
    if part == "imag":
        piece = parity.piece(target, "imagination_loss", check, "BUG", description)
        ours = lambda data: piece(preset_name, data, retnorm)  # noqa: E731
        official = lambda data: actor_critic.imagination_loss(  # noqa: E731
            official_agent, data, shared_variables)
    elif part == "repl":
        piece = parity.piece(target, "replay_loss", check, "BUG", description)
        ours = lambda data: piece(preset_name, data)  # noqa: E731
        official = lambda data: actor_critic.replay_loss(  # noqa: E731
            official_agent, data, shared_variables)
    else:
        piece = parity.piece(target, "world_model_terms", check, "BUG", description)
        ours = lambda data: piece(preset_name, data)  # noqa: E731
        official = lambda data: world_model_terms.world_model_terms(  # noqa: E731
            official_agent, data)
    reference = pattern(official, inputs[part], name, output, how)
    agrees, tag, detail = diagnose(pattern(ours, inputs[part], name, output, how), reference,
                                   name, output)
    parity.verdict(check, tag, description, agrees, detail,
                   f"same pattern ({int(reference.sum())} of {reference.size} step pairs "
                   f"reached)")
