"""Structural probes on each side's own networks: which steps and which parameters a loss
term depends on, compared as patterns, so no weight is shared.

Both sides start from their own initial parameters with every float parameter moved by
N(0, NOISE^2): an initialisation that zeroes an output layer (the official reward, value and
continuation heads start at zero) would otherwise hide every dependency behind it, on both
sides alike. Then each side computes its per-element loss terms on the same official-layout
batch, with its own randomness held fixed between calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import jax
import numpy as np

NOISE = 0.1
# Loss terms by the part of the agent that computes them; time patterns are compared per part.
# The policy loss is left out: its advantages are divided by the return scale, a percentile
# range over the whole batch, so once imagined returns span more than 1 every step reaches
# every other through it, a coupling set by the values, not by the time structure.
PARTS = {"world_model": ("dyn", "rep", "rew", "con"), "imagination": ("value",),
         "replay": ("repval",)}
# A parameter group receives a term's gradient when its norm exceeds this fraction of the
# largest group's: the official stops are exact zeros, a leak is of the order of the term's
# other gradients, and float32 rounding of a sum over 1e5 parameters stays below 1e-6.
RECEIVES = 1e-6


def perturbed(params, seed: int, constant: tuple[str, ...] = (), noise: float = NOISE):
    """`params` (any pytree) with N(0, noise^2) added to every float leaf but those whose
    `jax.tree_util.keystr` path a regex of `constant` finds (constants kept as variables)."""
    rng = np.random.default_rng(seed)

    def move(path, leaf):
        leaf = np.asarray(leaf)
        name = jax.tree_util.keystr(path)
        if not np.issubdtype(leaf.dtype, np.floating) or any(
                re.search(pattern, name) for pattern in constant):
            return leaf
        return (leaf + noise * rng.standard_normal(leaf.shape)).astype(leaf.dtype)

    return jax.tree_util.tree_map_with_path(move, params)


def part_outputs(terms: Mapping[str, np.ndarray], obs_keys) -> dict[str, tuple[str, ...]]:
    """The terms of each part present in `terms`; the decoder's terms are named after the
    observation keys and belong to the world model."""
    parts = {part: tuple(t for t in names if t in terms) for part, names in PARTS.items()}
    parts["world_model"] += tuple(k for k in obs_keys if k in terms)
    return parts


def group_norms(grads: Mapping[str, Mapping[str, np.ndarray]],
                group_of: Callable[[str], str | None]) -> dict[str, dict[str, float]]:
    """{term: {param name: gradient}} -> {term: {group: L2 norm}}; parameters whose group is
    None (not trained) are left out."""
    norms = {}
    for term, by_param in grads.items():
        squares = {}
        for name, grad in by_param.items():
            group = group_of(name)
            if group is not None:
                squares[group] = squares.get(group, 0.0) + float(
                    np.sum(np.square(np.asarray(grad, np.float64))))
        norms[term] = {group: float(np.sqrt(total)) for group, total in squares.items()}
    return norms


def receiving(norms: Mapping[str, float]) -> set[str]:
    largest = max(norms.values(), default=0.0)
    return {group for group, norm in norms.items() if norm > RECEIVES * largest}


def flow_difference(term: str, ours: Mapping[str, float],
                    official: Mapping[str, float]) -> tuple[str, str]:
    """(tag, detail), detail '' when the same groups receive `term`'s gradient. A leak (a group
    trained where the official stops the gradient: a missing stop-gradient) is a [BUG]; a cut
    (a group the official trains left untrained: a missing straight-through estimator, or a
    gradient the official exposes as an option, reward_grad, ac_grads, repval_grad) changes
    what the agent learns, a [CRITDIFF]."""
    mine, theirs = receiving(ours), receiving(official)
    parts = []
    if mine - theirs:
        parts.append(f"leak: {term} trains {', '.join(sorted(mine - theirs))}, where the "
                     f"official stops its gradient")
    if theirs - mine:
        parts.append(f"cut: {term} does not train {', '.join(sorted(theirs - mine))}, which "
                     f"the official trains (or own_param_group names none of its parameters)")
    return ("BUG" if mine - theirs else "CRITDIFF"), "; ".join(parts)


def leaf_norms(grads: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, float]:
    """{term: {param name: gradient}} -> {param name: the largest norm any term gives it}."""
    norms: dict[str, float] = {}
    for by_param in grads.values():
        for name, grad in by_param.items():
            norm = float(np.sqrt(np.sum(np.square(np.asarray(grad, np.float64)))))
            norms[name] = max(norms.get(name, 0.0), norm)
    return norms


def reset_only(with_resets: Mapping[str, float], without: Mapping[str, float]) -> list[str]:
    """The parameters that receive gradient on a batch with episode starts and exactly none
    on the same batch without them: they enter the losses only where a reset happens, so they
    set the state a reset restarts from (a learned initial state). Exactly none: a parameter
    outside the computation gets a gradient of 0.0 on any machine, while one the losses read
    at every step is far above RECEIVES either way; the official restarts from zeros, which
    no parameter sets."""
    return sorted(name for name in receiving(with_resets) if without.get(name, 0.0) == 0.0)
