"""The official side's own spread: how far the official computation moves from itself under a
float perturbation as small as the rounding two correct programs disagree by.

Two float32 programs of the same math agree only to their summation orders, and some
computations turn that into large differences: an optimizer dividing a rounding-sized gradient
by its own running RMS, an argmax whose two best logits are tied to the last bit (the
deterministic mode's stand-in for a draw), a clip or a percentile at its threshold. A fixed
tolerance there is a guess about the machine. So such a check also runs the official
computation from antithetic twins of its inputs: every float entry moved one ulp up in one twin
and one ulp down in the other, each direction chosen at random per entry (integers as they are).
A quantity whose first-order response to the perturbation is d moves by about +d in one twin
and -d in the other, so a discontinuity within rounding of the inputs is crossed by one of
them whichever side the target's own rounding fell on.

The verdict per element, with `allowed` the check's float32 tolerance:
- unstable: the official's own spread (the larger move of its twins) exceeds `allowed`: the
  official computation is itself undecided there, so the element is reported, not compared;
- otherwise the target differs only beyond max(allowed, FACTOR x spread).
FACTOR: measured on the reimpl at the operating point (parity_tests/test_multistep.py, 12
steps, AMD EPYC Zen 3), its distance from the official reaches at most 2.1x the twins' spread
on elements where the spread is above a tenth of `allowed` (another program's rounding is of
the size of a one-ulp perturbation's); 4 leaves room for a program that rounds more, and stays
far below a real departure, which moves whole leaves by many times `allowed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

FACTOR = 4.0


def twins(values: Mapping[str, np.ndarray], seed: int) -> tuple[dict, dict]:
    """Two copies of `values` with every float entry moved one ulp, in opposite directions."""
    rng = np.random.default_rng(seed)
    up, down = {}, {}
    for name in sorted(values):
        value = np.asarray(values[name])
        if not np.issubdtype(value.dtype, np.floating):
            up[name] = down[name] = value
            continue
        sign = np.where(rng.random(value.shape) < 0.5, 1.0, -1.0).astype(value.dtype)
        up[name] = np.nextafter(value, sign * np.inf).astype(value.dtype)
        down[name] = np.nextafter(value, -sign * np.inf).astype(value.dtype)
    return up, down


@dataclass(frozen=True)
class Judgement:
    ratio: float  # worst distance / limit over the stable elements (> 1: differs)
    where: str  # that element, "leaf[i, j]"
    distance: float  # its distance from the official
    spread: float  # the official's own spread there
    unstable: int  # elements where the official's spread exceeds the allowed error
    unstable_where: str  # the most unstable element ("" if none)

    @property
    def agrees(self) -> bool:
        return self.ratio <= 1.0

    def summary(self) -> str:
        text = (f"{self.ratio:.2g} of the allowed error at {self.where} (distance "
                f"{self.distance:.3g}, official's own spread {self.spread:.3g})")
        if self.unstable:
            text += (f"; {self.unstable} element(s) unstable (the official parts from itself "
                     f"beyond the tolerance), not compared, most at {self.unstable_where}")
        return text


def _index(array: np.ndarray, flat: int) -> str:
    return ", ".join(str(int(i)) for i in np.unravel_index(flat, array.shape))


def judge(ours: Mapping[str, np.ndarray], official: Mapping[str, np.ndarray],
          twin_values: list[Mapping[str, np.ndarray]],
          allowed: Mapping[str, np.ndarray]) -> Judgement:
    """Every leaf of `official` against `ours`, with the official's spread over `twin_values`
    (the same quantities computed from the twins' inputs) and the per-element `allowed`."""
    best = (-1.0, "", 0.0, 0.0)
    unstable, worst_unstable = 0, (0.0, "")
    for name in sorted(official):
        reference = np.asarray(official[name], np.float64)
        if reference.size == 0:
            continue
        distance = np.abs(np.asarray(ours[name], np.float64) - reference)
        spread = np.max([np.abs(np.asarray(t[name], np.float64) - reference)
                         for t in twin_values], axis=0)
        limit = np.broadcast_to(np.asarray(allowed[name], np.float64), reference.shape)
        shaky = spread > limit
        unstable += int(shaky.sum())
        if shaky.any():
            excess = np.where(shaky, spread / np.maximum(limit, 1e-300), 0.0)
            flat = int(np.argmax(excess))
            if excess.flat[flat] > worst_unstable[0]:
                worst_unstable = (float(excess.flat[flat]), f"{name}[{_index(excess, flat)}]")
        bound = np.maximum(limit, FACTOR * spread)
        ratio = np.where(shaky, 0.0, np.where(distance == 0, 0.0,
                                              distance / np.maximum(bound, 1e-300)))
        flat = int(np.argmax(ratio))
        if ratio.flat[flat] > best[0]:
            best = (float(ratio.flat[flat]), f"{name}[{_index(ratio, flat)}]",
                    float(distance.flat[flat]), float(spread.flat[flat]))
    return Judgement(max(best[0], 0.0), best[1], best[2], best[3], unstable, worst_unstable[1])
