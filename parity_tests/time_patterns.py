"""Dependency patterns over time and what a difference between two of them says.

pattern[b, t, s] says whether a change of one input at step t of trajectory b moves an output
at step s. Patterns are compared, not values, so each side can run on its own networks. A
target whose pattern is the official one shifted by k input steps uses that input k steps late
(or early): a time-index [BUG]. Extra dependencies that all cross an episode start (an input
before an is_first reaching an output at or after it) are a missed reset: a [BUG] too. Any other
difference is reported as [TOCHECK] with the first (t, s) that differs; the value checks of the
same quantity give it its severity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

# A step counts as reached when the output moves by more than this, relative to the output's
# scale: float32 rounding is ~1e-7 relative per op and stays below 1e-6 here. The smallest real
# effects measured (test_time_index.py): a reward raised by 3 moves a two-hot loss under a broad
# bump by ~1e-4 relative, a return through 15 steps of lam * con by ~1e-2.
REACHED = 1e-5
MAX_SHIFT = 2


def changed_at(values, t: int, change: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """A copy of `values` [B, T, ...] with step t replaced by change(values[:, t])."""
    changed = np.array(values, copy=True)
    changed[:, t] = change(changed[:, t])
    return changed


def patterns(run: Callable[[dict], dict], inputs: dict, name: str,
             perturb: Callable[[np.ndarray, int], np.ndarray]) -> dict[str, np.ndarray]:
    """{output: [B, T_in, T_out] booleans}: does perturb(inputs[name], t) move output[:, s]?
    Every output `run` returns counts, each against its own scale."""
    base = {k: np.asarray(v, np.float64) for k, v in run(inputs).items()}
    scale = {k: REACHED * max(1.0, float(np.abs(b).max())) for k, b in base.items()}
    moved = [{k: (np.abs(np.asarray(v, np.float64) - base[k]) > scale[k])
              .reshape(base[k].shape[:2] + (-1,)).any(-1) for k, v in out.items()}
             for out in (run({**inputs, name: perturb(inputs[name], t)})
                         for t in range(inputs[name].shape[1]))]
    return {k: np.stack([step[k] for step in moved], 1) for k in base}


def pattern(run: Callable[[dict], dict], inputs: dict, name: str, outputs: Sequence[str],
            perturb: Callable[[np.ndarray, int], np.ndarray]) -> np.ndarray:
    """[B, T_in, T_out]: does a change of inputs[name] at t move any of `outputs` at s? The
    outputs named must share their [B, T_out] leading shape."""
    found = patterns(lambda data: {k: v for k, v in run(data).items() if k in outputs},
                     inputs, name, perturb)
    return np.stack([found[k] for k in outputs]).any(0)


def _matches_shifted(ours: np.ndarray, official: np.ndarray, k: int) -> bool:
    """Does the target's input step t act like the official input step t + k (on the steps
    where both exist)? k = 1: the target uses each input one step after the official does."""
    steps, edge = official.shape[1], abs(k)
    # Inputs within |k| steps of either end are left out: what a shifted read does there
    # depends on how the target pads (repeats, zeros, drops), not on the shift.
    mine = ours[:, max(0, -k) + edge:steps - max(0, k) - edge]
    theirs = official[:, max(0, k) + edge:steps - max(0, -k) - edge]
    return bool(theirs.any()) and np.array_equal(mine, theirs)


def _missed_reset(ours, official, resets, offset) -> tuple[int, int, int] | None:
    """The first extra dependency if every extra one crosses an episode start: input step t
    reaching output step s (input step s + offset) past an is_first at r, t < r <= s + offset."""
    if resets is None or (official & ~ours).any():
        return None
    extra = np.argwhere(ours & ~official)
    crossing = [(b, t, s) for b, t, s in extra if resets[b, t + 1:s + offset + 1].any()]
    return tuple(crossing[0]) if extra.size and len(crossing) == len(extra) else None


def diagnose(ours: np.ndarray, official: np.ndarray, name: str, output: str,
             resets: np.ndarray | None = None, offset: int = 0):
    """-> (agrees, tag, detail). `resets` [B, T_in]: the is_first flags of the inputs;
    `offset`: the input step of output step 0 (the replay context)."""
    if np.array_equal(ours, official):
        return True, "BUG", ""
    for k in [k for k in range(-MAX_SHIFT, MAX_SHIFT + 1) if k]:
        if _matches_shifted(ours, official, k):
            when = "late" if k > 0 else "early"
            return False, "BUG", (
                f"time index: {name}[t] acts on {output} as the official {name}[t{k:+d}] does "
                f"(the target uses each {name} {abs(k)} step(s) {when})")
    missed = _missed_reset(ours, official, resets, offset)
    if missed:
        b, t, s = missed
        r = t + 1 + int(np.argmax(resets[b, t + 1:]))
        return False, "BUG", (
            f"missed reset: {name}[{t}] reaches {output} at step {s + offset} across the "
            f"episode start at step {r} (is_first) in trajectory {b}; the official state "
            f"starts afresh there")
    b, t, s = np.argwhere(ours != official)[0]
    return False, "TOCHECK", (
        f"not a time shift: {name}[{t}] {'reaches' if ours[b, t, s] else 'misses'} "
        f"{output}[{s}] in trajectory {b}, where the official "
        f"{'does not' if ours[b, t, s] else 'does'}")
