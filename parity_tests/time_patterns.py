"""Dependency patterns over time and what a difference between two of them says.

pattern[b, t, s] says how far a change of one input at step t of trajectory b moves an output
at step s: reached, weakly reached or not (Reach). Patterns are compared, not values, so each
side can run on its own networks. A
target whose pattern is the official one shifted by k input steps uses that input k steps late
(or early): a time-index [BUG]. Extra dependencies that all cross an episode start (an input
before an is_first reaching an output at or after it) are a missed reset: a [BUG] too. Any other
difference is reported as [TOCHECK] with the first (t, s) that differs; the value checks of the
same quantity give it its severity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# How far a change reaches is measured relative to the output's scale, max(1, max |output|).
# A step the change does not reach keeps its output bit for bit: both runs are the same
# program on the same values there, so its move is exactly 0 on any machine. A step it
# reaches moves by the real effect; effects within a few ulps of the output (float32: ~1.2e-7
# relative per ulp) can round to 0 on one CPU and not on another. So a move counts three ways:
# - reached: above REACHED, 84 ulps. The smallest real effects measured (test_time_index.py):
#   a reward raised by 3 moves a two-hot loss under a broad bump by ~1e-4 relative, a return
#   through 15 steps of lam * con by ~1e-2;
# - not reached: at most WEAK, 8 ulps: what rounding can make of a dependency too small to see;
# - weakly reached: between the two, a dependency that is real but small (a loss moving by
#   7e-5 where the largest loss is 20). Its size is no verdict: a weak move on one side is
#   compatible with either on the other, and is reported as weak. Only "reached" against "not
#   reached" is a difference; the factor 10 between them is more than rounding moves a
#   dependency between two machines.
# A side whose outputs move between two runs of the same inputs (a nondeterministic program:
# atomics on an accelerator, threaded reductions) has that noise measured, and both bounds
# are raised to at least NOISE_MARGIN and NOISE_MARGIN^2 times it.
REACHED = 1e-5
WEAK = 1e-6
NOISE_MARGIN = 10.0
MAX_SHIFT = 2
SHIFTS = [k for k in range(-MAX_SHIFT, MAX_SHIFT + 1) if k]


@dataclass(frozen=True)
class Reach:
    """moved[b, t, s]: how far a change of the input at step t moves output step s of
    trajectory b, relative to the output's scale; noise: how far the outputs move between two
    runs of the same inputs, relative to the same scale."""
    moved: np.ndarray
    noise: float = 0.0

    @property
    def reached(self) -> np.ndarray:
        return self.moved > max(REACHED, NOISE_MARGIN ** 2 * self.noise)

    @property
    def touched(self) -> np.ndarray:
        """Reached or weakly reached."""
        return self.moved > max(WEAK, NOISE_MARGIN * self.noise)

    def where(self, kept: np.ndarray) -> Reach:
        """Only the step pairs `kept` counted; the others not reached."""
        return Reach(np.where(kept, self.moved, 0.0), self.noise)


def union(reaches: Sequence[Reach]) -> Reach:
    """A change reaches any of several outputs (each against its own scale)."""
    return Reach(np.stack([r.moved for r in reaches]).max(0),
                 max(r.noise for r in reaches))


def resolved(ours: Reach, official: Reach) -> tuple[np.ndarray, np.ndarray, int]:
    """(the target's pattern, the official's, how many step pairs are weakly reached on a
    side): booleans to compare, where a weakly reached pair takes the official's verdict (a
    weak move is compatible with either), so a difference is a pair reached on one side and
    not reached on the other."""
    reference = official.touched
    weak = (ours.touched & ~ours.reached) | (official.touched & ~official.reached)
    return np.where(weak, reference, ours.touched), reference, int(weak.sum())


def reach_text(reference: np.ndarray, weak: int) -> str:
    """What an agreeing probe measured, for the report."""
    weakly = (f"; {weak} of them weakly on a side, moving the output by {WEAK:.0e} to "
              f"{REACHED:.0e} of its scale" if weak else "")
    return f"{int(reference.sum())} of {reference.size} step pairs reached{weakly}"


def changed_at(values, t: int, change: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """A copy of `values` [B, T, ...] with step t replaced by change(values[:, t])."""
    changed = np.array(values, copy=True)
    changed[:, t] = change(changed[:, t])
    return changed


def patterns(run: Callable[[dict], dict], inputs: dict, name: str,
             perturb: Callable[[np.ndarray, int], np.ndarray]) -> dict[str, Reach]:
    """{output: Reach [B, T_in, T_out]}: how far perturb(inputs[name], t) moves output[:, s].
    Every output `run` returns counts, each against its own scale; `run` is called once more
    on the unchanged inputs to measure its own noise."""
    base = {k: np.asarray(v, np.float64) for k, v in run(inputs).items()}
    scale = {k: max(1.0, float(np.abs(b).max(initial=0.0))) for k, b in base.items()}

    def relative(out):
        return {k: np.abs(np.asarray(v, np.float64) - base[k]) / scale[k]
                for k, v in out.items()}

    noise = {k: float(v.max(initial=0.0)) for k, v in relative(run(inputs)).items()}
    moved = [{k: v.reshape(base[k].shape[:2] + (-1,)).max(-1)
              for k, v in relative(out).items()}
             for out in (run({**inputs, name: perturb(inputs[name], t)})
                         for t in range(inputs[name].shape[1]))]
    return {k: Reach(np.stack([step[k] for step in moved], 1), noise[k]) for k in base}


def pattern(run: Callable[[dict], dict], inputs: dict, name: str, outputs: Sequence[str],
            perturb: Callable[[np.ndarray, int], np.ndarray]) -> Reach:
    """[B, T_in, T_out]: how far a change of inputs[name] at t moves any of `outputs` at s.
    The outputs named must share their [B, T_out] leading shape."""
    found = patterns(lambda data: {k: v for k, v in run(data).items() if k in outputs},
                     inputs, name, perturb)
    return union([found[k] for k in outputs])


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
    for k in SHIFTS:
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
    return _not_a_shift(ours, official, lambda t: f"{name}[{t}]", output)


def _not_a_shift(ours, official, source: Callable[[int], str], output: str):
    """The [TOCHECK] verdict naming the first step pair that differs; source(t) names the
    input at step t."""
    b, t, s = np.argwhere(ours != official)[0]
    return False, "TOCHECK", (
        f"not a time shift: {source(t)} {'reaches' if ours[b, t, s] else 'misses'} "
        f"{output}[{s}] in trajectory {b}, where the official "
        f"{'does not' if ours[b, t, s] else 'does'}")


def _shifted_entries(official: np.ndarray, k: int) -> np.ndarray:
    """The official pattern with each input step's row moved to input step t + k (rows moved
    past either end dropped, the rows left open unreached)."""
    shifted = np.zeros_like(official)
    steps = official.shape[1]
    if k > 0:
        shifted[:, k:] = official[:, :steps - k]
    else:
        shifted[:, :steps + k] = official[:, -k:]
    return shifted


def diagnose_entry(ours: np.ndarray, official: np.ndarray, name: str, output: str):
    """-> (agrees, tag, detail) for a stored input that is read at one step only (a replayed
    RSSM entry the chunk starts from): a target whose pattern is the official one moved by k
    input steps reads the entry of step t + k, a time-index [BUG]. Unlike `diagnose`, the ends
    count: a state read from the wrong entry shows only there."""
    if np.array_equal(ours, official):
        return True, "BUG", ""
    for k in SHIFTS:
        shifted = _shifted_entries(official, k)
        if shifted.any() and np.array_equal(ours, shifted):
            read = np.argwhere(shifted.any((0, 2)))[:, 0]
            return False, "BUG", (
                f"time index: the target starts from the stored {name} of entry "
                f"{', '.join(map(str, read))} where the official reads entry "
                f"{', '.join(str(t - k) for t in read)} (the entry {abs(k)} step(s) "
                f"{'late' if k > 0 else 'early'})")
    return _not_a_shift(ours, official, lambda t: f"the stored {name} of entry {t}", output)
