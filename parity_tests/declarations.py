"""What a target declares about itself, besides the pieces it provides (docs/TARGETS.md,
"Declarations"): plain attributes the suite reads to compare like with like, never to skip a
check. Each reader validates its declaration and names the offender and the fix.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np

# The declarations the suite reads; tests/test_targets_doc.py keeps this equal to the
# documented ones.
NAMES = ("reductions", "follows_preset", "replay_sequence_start", "replay_capacity", "absent",
         "constant_params", "framework")  # framework: read by parity_tests/frameworks.py

# Pieces whose real counterparts are usually batch means: the suite reduces the official
# per-element values the same way before comparing. Building blocks reduce their whole result;
# a loss-returning piece reduces its loss keys (each a scalar then, with its gradients those of
# the reduced loss), every other key staying per element as documented. None: every key.
BLOCKS = ("twohot_loss", "latent_kl_losses")
LOSS_KEYS = {
    "imagination_loss": ("policy", "value", "entropy_term", "slowreg_term"),
    "replay_loss": ("repval", "slowreg_term"),
    "world_model_terms": ("image", "rew", "con", "dyn", "rep"),
    "own_losses": None,
}
REDUCIBLE = (*BLOCKS, *LOSS_KEYS)
REDUCTIONS = {"none": None, "mean": jnp.mean, "sum": jnp.sum}


def reduction(target, piece: str) -> str:
    """How the target reduces `piece`'s result: "none" (per element, the default), "mean" or
    "sum" over every element, from its `reductions = {piece: kind}` attribute."""
    declared = getattr(target, "reductions", None) or {}
    if not isinstance(declared, dict):
        raise TypeError(f"target.reductions must be a dict {{piece: kind}}, got "
                        f"{type(declared).__name__} (e.g. {{'twohot_loss': 'mean'}})")
    unknown = sorted(set(declared) - set(REDUCIBLE))
    if unknown:
        raise ValueError(f"target.reductions names {', '.join(map(repr, unknown))}: only "
                         f"{', '.join(REDUCIBLE)} may be declared reduced (every other piece "
                         "returns per-element values)")
    kind = declared.get(piece, "none")
    if kind not in REDUCTIONS:
        raise ValueError(f"target.reductions[{piece!r}] is {kind!r}: one of "
                         f"{', '.join(map(repr, REDUCTIONS))}")
    return kind


def key_reduction(target, piece: str, key: str) -> str:
    """How the target reduces the key `key` of a loss-returning piece's result: its declared
    kind for a loss key, "none" for every other key."""
    keys = LOSS_KEYS[piece]
    return reduction(target, piece) if keys is None or key in keys else "none"


def gradient_scale(kind: str, per_element) -> float:
    """What the gradient of the reduced loss is of the gradient of its sum: 1 / the elements
    for a mean, 1 for a sum (and for per-element losses, whose gradients are of the sum)."""
    return 1.0 / np.size(per_element) if kind == "mean" else 1.0


def reduce(tree, kind: str):
    """Every leaf of `tree` (numpy or traced) reduced over all its axes as declared."""
    fn = REDUCTIONS[kind]
    return tree if fn is None else jax.tree.map(lambda leaf: fn(jnp.asarray(leaf)), tree)


def described(description: str, kind: str) -> str:
    """The check's description, saying what was compared when the target reduces."""
    return description if kind == "none" else f"{description} ({kind} over the batch, declared)"


def follows_preset(target, presets) -> str | None:
    """The one official preset a single-configuration target follows (its `follows_preset`
    attribute), or None: the target states every preset."""
    preset = getattr(target, "follows_preset", None)
    if preset is not None and preset not in presets:
        raise ValueError(f"target.follows_preset is {preset!r}: one of the official presets "
                         f"{', '.join(sorted(presets))}")
    return preset


# How a replayed sequence's first step is treated: the official replay marks it is_first, so
# the world model resets there; an implementation that starts every replayed sequence from its
# initial state needs no mark.
SEQUENCE_STARTS = ("is_first", "initial_state")


def replay_sequence_start(target) -> str:
    start = getattr(target, "replay_sequence_start", None) or "is_first"
    if start not in SEQUENCE_STARTS:
        raise ValueError(f"target.replay_sequence_start is {start!r}: one of "
                         f"{', '.join(map(repr, SEQUENCE_STARTS))}")
    return start


def replay_capacity(target) -> int | None:
    """The steps the target's replay keeps, all envs together (None: not declared)."""
    capacity = getattr(target, "replay_capacity", None)
    if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int)
                                 or capacity < 1):
        raise ValueError(f"target.replay_capacity is {capacity!r}: a positive int, the steps "
                         "its replay keeps over all envs")
    return capacity


def absent(target) -> dict[str, str]:
    """What the target's algorithm does not have, with why: `absent = {name: reason}`, a name
    being a piece (`"replay_loss"`), a term or quantity wherever it appears (`"repval"`), or
    one piece's key (`"imagination_loss.weight"`). Each check of it is a finding with its
    reason (status "absent"), never a skip, a crash or a probe failure."""
    declared = getattr(target, "absent", None) or {}
    if not isinstance(declared, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in declared.items()):
        raise TypeError("target.absent must be a dict {name: reason} of strings, each with a "
                        "reason (e.g. {'repval': 'no replay value loss in our algorithm'})")
    implied = {piece: declared[term] for term, piece in TERM_PIECES.items()
               if term in declared and piece not in declared}
    return {**declared, **implied}


def constant_params(target, params) -> tuple[str, ...]:
    """The regexes (`re.search` on `jax.tree_util.keystr(path)`) of the leaves of `own_params`
    that are constants kept as variables (a two-hot bin table, a fixed embedding): the
    structural probes leave them as they are instead of moving them by noise. Each pattern must
    match a leaf of `params`."""
    patterns = getattr(target, "constant_params", None) or ()
    if isinstance(patterns, str) or not all(isinstance(p, str) for p in patterns):
        raise TypeError("target.constant_params must be a tuple of regexes matched against "
                        "jax.tree_util.keystr paths of own_params (e.g. (r\"bins\",))")
    paths = [jax.tree_util.keystr(path) for path, _ in
             jax.tree_util.tree_leaves_with_path(params)]
    for pattern in patterns:
        if not any(re.search(pattern, path) for path in paths):
            shown = ", ".join(paths[:6]) + (", ..." if len(paths) > 6 else "")
            raise ValueError(f"target.constant_params: {pattern!r} matches no leaf of "
                             f"own_params ({len(paths)} leaves: {shown})")
    return tuple(patterns)


# A term whose absence takes the piece that computes only it along.
TERM_PIECES = {"repval": "replay_loss"}
