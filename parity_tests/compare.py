"""Compare two pytrees: structure first (keys, shapes, dtypes, NaN masks), then values.

The result names the worst element (path and index) and its absolute and relative error, so a
failure says where to look. NaNs are never zeroed: their positions must match.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

from .tolerances import Tolerance

TINY = 1e-30


@dataclass(frozen=True)
class Comparison:
    ok: bool
    max_abs: float
    max_rel: float
    where: str  # the worst element, e.g. "['dyn/dyngru/kernel'][3, 1, 0]"
    problems: tuple[str, ...]  # structural problems; non-empty means ok is False
    # The worst error over the allowed error (atol + rtol x reference) of any element: above 1
    # differs; a check that agrees at 0.9 is a check that may fail on another machine.
    margin: float = 0.0
    # Of a value difference: the target's quantity as the official one rescaled, shifted or
    # changed in shape (parity_tests/difference_form.py); "" where it agrees.
    form: str = ""

    def summary(self) -> str:
        if self.problems:
            return "; ".join(self.problems)
        return f"max abs {self.max_abs:.3g}, max rel {self.max_rel:.3g} at {self.where}"


ROOT = "<root>"  # the path of a tree that is a single array (keystr gives "")


def _leaves(tree) -> dict[str, np.ndarray]:
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    return {jax.tree_util.keystr(path) or ROOT: np.asarray(leaf) for path, leaf in flat}


def _structure_problems(ours, ref) -> list[str]:
    problems = [f"missing {path}" for path in sorted(ref.keys() - ours.keys())]
    problems += [f"unexpected {path}" for path in sorted(ours.keys() - ref.keys())]
    for path in sorted(ours.keys() & ref.keys()):
        if ours[path].shape != ref[path].shape:
            problems.append(f"{path}: shape {ours[path].shape} vs reference {ref[path].shape}")
        elif not np.array_equal(np.isnan(ours[path]), np.isnan(ref[path])):
            problems.append(f"{path}: NaN positions differ")
    return problems


def compare(ours, ref, tolerance: Tolerance) -> Comparison:
    ours_leaves = {k: v.astype(np.float64) for k, v in _leaves(ours).items()}
    ref_leaves = {k: v.astype(np.float64) for k, v in _leaves(ref).items()}
    problems = _structure_problems(ours_leaves, ref_leaves)
    if problems:
        return Comparison(False, float("nan"), float("nan"), "", tuple(problems), np.inf)
    worst = (-np.inf, 0.0, 0.0, "")  # (excess over tolerance, abs, rel, where)
    max_abs = max_rel = margin = 0.0
    for path, mine in ours_leaves.items():
        theirs = ref_leaves[path]
        finite = np.isfinite(mine) & np.isfinite(theirs)
        # NaN masks already match (structure check), and NaN != NaN: only infs can differ here.
        both_nan = np.isnan(mine) & np.isnan(theirs)
        if (mine[~finite & ~both_nan] != theirs[~finite & ~both_nan]).any():
            return Comparison(False, np.inf, np.inf, path, (f"{path}: inf values differ",),
                              np.inf)
        if mine.size == 0:
            continue
        error = np.abs(np.where(finite, mine, 0.0) - np.where(finite, theirs, 0.0))
        reference = np.abs(theirs)
        if tolerance.per_leaf:
            reference = np.full_like(reference, reference.max())
        # Relative to the reference, floored at atol so exact zeros do not make it infinite.
        rel = error / np.maximum(reference, max(tolerance.atol, TINY))
        allowed = tolerance.atol + tolerance.rtol * reference
        excess = error - allowed
        margin = max(margin, float(np.max(np.where(
            error == 0, 0.0, error / np.maximum(allowed, TINY)), initial=0.0)))
        index = np.unravel_index(np.argmax(excess), excess.shape)
        max_abs, max_rel = max(max_abs, float(error.max())), max(max_rel, float(rel.max()))
        if excess[index] > worst[0]:
            where = f"{path}[{', '.join(str(int(i)) for i in index)}]"
            worst = (float(excess[index]), float(error[index]), float(rel[index]), where)
    return Comparison(worst[0] <= 0, max_abs, max_rel, worst[3], (), margin)
