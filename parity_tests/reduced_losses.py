"""Loss-returning pieces whose loss keys come back reduced (declared `reductions`).

Real loss code returns batch means. A target that declares `reductions = {"world_model_terms":
"mean"}` (or `"sum"`; also `imagination_loss`, `replay_loss`, `own_losses`) returns each loss
key of that piece as a scalar, its gradients those of the scalar (d mean(loss) / d output), and
every other key per element as documented (returns, weights, advantages). The checks then
compare like with like: the official per-element values reduced the same way, the official
gradients of the summed loss scaled to the reduced one (1 / the elements for a mean), and a
stage's official arithmetic ("follows", "explained") reduced before it is compared. What needs
a loss per element (a time-index probe on a loss) reads it from the loss's gradient with
respect to its own output instead, which is per element whatever the reduction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from . import declarations


def kind(target, piece: str, key: str) -> str:
    return declarations.key_reduction(target, piece, key)


def gradient_of(target, piece: str, key: str) -> str:
    """What the target's gradients of `key` are of: "sum" (per-element losses) or the declared
    reduction, for the check's description (`d mean(rew) / d reward_logits`)."""
    reduced = kind(target, piece, key)
    return "sum" if reduced == "none" else reduced


def shapes(target, piece: str, expected: Mapping[str, tuple[tuple[int, ...], str]]) -> dict:
    """The shapes `piece_results.checked` asks for: () for a reduced loss key."""
    out = {}
    for key, (shape, written) in expected.items():
        reduced = kind(target, piece, key)
        out[key] = ((), f"a scalar ({reduced}, declared)") if reduced != "none" else (
            shape, written)
    return out


def official(target, piece: str, key: str, value):
    """The official per-element `value` of `key`, reduced as the target declares."""
    return declarations.reduce(value, kind(target, piece, key))


def official_gradient(target, piece: str, key: str, gradient, per_element):
    """The official gradient of sum(key) scaled to the target's reduced loss."""
    scale = declarations.gradient_scale(kind(target, piece, key), per_element)
    return gradient if scale == 1.0 else scale * gradient


def described(target, piece: str, key: str, description: str) -> str:
    return declarations.described(description, kind(target, piece, key))


def reduced_stage(target, piece: str, key: str, per_element, gradient: bool = False
                  ) -> Callable:
    """What turns the official arithmetic's per-element value of `key` (or, with `gradient`,
    its gradient of the sum) into what the target returns."""
    if gradient:
        return lambda g: official_gradient(target, piece, key, g, per_element)
    return lambda value: official(target, piece, key, value)


def attribution(attribute: Callable, reduce: Callable) -> Callable:
    """An attribution callable (`stages.attribute`'s result or None) with its value reduced."""
    def reduced():
        found = attribute()
        return None if found is None else (found[0], reduce(found[1]))

    return reduced
