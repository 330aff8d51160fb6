"""The form of a difference: is the target's quantity the official one rescaled, shifted, both,
or of another shape? Read from the two values a check already compares, for every check that
differs on values (issue 27: "cosmetic, scale-only or a change in behaviour").

Over every finite element of the quantity (all leaves together), the target's values `o` are
fitted to the official `r` three ways, each judged by its residual relative to the norm of the
official values:
- scale: o = a r (least squares through the origin);
- offset: o = r + b;
- affine: o = a r + b.
The first fit whose residual is at most RESIDUAL names the form ("scale-only x0.031", "offset
+0.5", "affine x2 -1"); a scale of -1 is "sign-flipped", an affine fit of scale 0 "constant 1"
(a loss clipped at free nats everywhere), and a target's quantity of zeros "zero" (its gradient
clipped everywhere). Otherwise the difference changes the
quantity's shape: "changed", with the cosine between the two and the ratio of their norms
(for a gradient, how far its direction turned and how much its size moved).

RESIDUAL = 1e-3: float32 rounding of two computations of one quantity leaves relative norm
residuals near 1e-6 (the suite's elementwise tolerances allow 1e-5 per element, recurrences
1e-4); a rescaling computed in float32 (a mean for a sum over 32 latents) leaves the same.
1e-3 is ten times the loosest tolerance, so a fit that leaves less is that form up to rounding,
and a real change of shape leaves far more (a shifted time index, a missing term: 1e-1 to 1).
"""

from __future__ import annotations

import jax
import numpy as np

RESIDUAL = 1e-3
SAME = 1e-6  # a fitted scale within this of -1 is a sign flip, within this of 0 a constant


def _flat(tree) -> np.ndarray:
    leaves = jax.tree_util.tree_leaves(tree)
    if not leaves:
        return np.zeros(0)
    return np.concatenate([np.asarray(leaf, np.float64).ravel() for leaf in leaves])


def form(ours, ref) -> str:
    """One short phrase; "" where there is nothing to fit (no finite elements, the official
    quantity all zeros, or the two equal)."""
    o, r = _flat(ours), _flat(ref)
    if o.shape != r.shape:
        return ""
    finite = np.isfinite(o) & np.isfinite(r)
    o, r = o[finite], r[finite]
    norm_r, norm_o = np.linalg.norm(r), np.linalg.norm(o)
    if o.size == 0 or norm_r == 0 or np.array_equal(o, r):
        return "" if norm_r or norm_o == 0 else "the official quantity is zero"
    if norm_o == 0:  # a gradient cut (a loss clipped everywhere, a missing term)
        return "zero: the target's quantity is 0 everywhere"
    scale = float(o @ r / (r @ r))
    offset = float(np.mean(o - r))
    design = np.stack([r, np.ones_like(r)], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, o, rcond=None)
    fits = (("scale", np.linalg.norm(o - scale * r)), ("offset", np.linalg.norm(o - r - offset)),
            ("affine", np.linalg.norm(o - a * r - b)))
    for kind, residual in fits:
        if residual <= RESIDUAL * norm_r:
            return _phrase(kind, scale, offset, float(a), float(b))
    cosine = float(o @ r / (norm_o * norm_r)) if norm_o else 0.0
    return f"changed: cosine {cosine:.3g}, norm x{norm_o / norm_r:.3g}"


def _phrase(kind: str, scale: float, offset: float, a: float, b: float) -> str:
    if kind == "scale":
        if abs(scale + 1) <= SAME:
            return "sign-flipped"
        return f"scale-only x{scale:.3g}"
    if kind == "offset":
        return f"offset {offset:+.3g}"
    if abs(a) <= SAME:  # the target's quantity does not follow the official one at all
        return f"constant {b:.3g}"
    return f"affine x{a:.3g} {b:+.3g}"
