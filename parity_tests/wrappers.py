"""Conversions every target wrapper writes, written once (docs/TARGETS.md, "Conversions").

- Layout: the suite hands batch-major arrays `[B, T, ...]`; `to_time_major` and
  `to_batch_major` swap the two leading axes of every leaf of a pytree.
- Time index: the official arrays put a transition's reward, terminal flag and episode end
  at the index of the observation it leads to; a textbook implementation puts them at the
  index of the action that caused it. `shift_to_textbook` drops index 0 (transition
  t -> t+1 reads official index t+1) and `shift_to_official` puts it back;
  `textbook_returns_inputs` is the whole shift for a lambda return
  (parity_tests/conventions.py, proved against the official `lambda_return` by
  tests/test_conventions.py).
- Auto-reset layout: `to_auto_reset` turns an official batch into the rows an auto-reset loop
  stores (no terminal observation; each transition's reward and flags on the row of the
  observation it leaves), with the rows such a loop never has marked not valid.
- Names: `NameMap` renames the official flat parameters to a target's own names, for networks
  that hold the official weights under other names, and checks that every official parameter
  is mapped or declared unused; `NameMap.to_official` maps results (gradients, new
  parameters) back.

Every function takes numpy arrays or JAX arrays (tracers included, so `jax.grad` of a wrapper
differentiates through the conversion) and returns the same kind; `shift_to_textbook`,
`textbook_returns_inputs` and `to_auto_reset` only slice and do arithmetic, so a PyTorch
wrapper passes them tensors (parity_tests/examples/torch_toy_target.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from parity_tests import conventions


def _xp(x):
    return jnp if isinstance(x, jax.Array) else np


def _swap_leading(tree, what: str):
    def swap(path, leaf):
        if np.ndim(leaf) < 2:
            raise ValueError(f"{what}: leaf {jax.tree_util.keystr(path) or '<root>'} has shape "
                             f"{np.shape(leaf)}; every leaf needs two leading axes to swap")
        return _xp(leaf).swapaxes(leaf, 0, 1)

    return jax.tree_util.tree_map_with_path(swap, tree)


def to_time_major(tree):
    """`[B, T, ...]` -> `[T, B, ...]` for every leaf."""
    return _swap_leading(tree, "to_time_major")


def to_batch_major(tree):
    """`[T, B, ...]` -> `[B, T, ...]` for every leaf."""
    return _swap_leading(tree, "to_batch_major")


# ------------------------------------------------------------------------ time index


def shift_to_textbook(x, axis: int = 1):
    """Official `x[t]` (arriving with observation t) -> textbook `x[t]` (of the transition
    t -> t+1), one fewer step: official index t+1. For reward, is_terminal and is_last of a
    replayed or imagined sequence; `axis` is the time axis (1 batch-major, 0 time-major)."""
    index = [slice(None)] * np.ndim(x)
    index[axis] = slice(1, None)
    return x[tuple(index)]


def shift_to_official(x, first, axis: int = 1):
    """Textbook `x[t]` (of the transition t -> t+1) -> official, one more step: `first` (the
    value before any transition: reward 0, flags False, broadcast to one step) at index 0."""
    xp = _xp(x)
    shape = list(np.shape(x))
    shape[axis] = 1
    head = xp.broadcast_to(xp.asarray(first, dtype=x.dtype), tuple(shape))
    return xp.concatenate([head, x], axis)


def textbook_returns_inputs(last, term, rew, boot, disc: float, lam: float) -> dict:
    """The official `lambda_return` arguments as per-transition textbook quantities [B, T-1]:
    `reward`, `discount` (disc, 0 after a terminal), `mixing` (lam, 0 where an episode ends,
    truncations included) and the `value` [B, T] to bootstrap from. conventions.py states
    the shift; this takes JAX arrays too."""
    return conventions.official_to_textbook(last, term, rew, boot, disc, lam)


def to_auto_reset(batch: Mapping, obs_keys: Iterable[str], act_keys: Iterable[str]) -> dict:
    """An official-layout batch {key: [B, T, ...]} -> the rows an auto-reset environment loop
    stores (gymnax style: the step that ends an episode returns the next episode's first
    observation, so the terminal observation is never stored), [B, T-1, ...]:
    row t holds observation t and the action taken there (`obs_keys`, `act_keys`), the
    transition's `reward`, `done` (the episode ended: official is_last[t+1]) and `terminal`
    (is_terminal[t+1]), `is_first` (observation t starts an episode) and `valid`: False
    where observation t is an official terminal observation (is_last[t]), a row such a loop
    never has (its action is never taken; the next row starts the next episode). Drop or mask
    the rows that are not valid the way your replay does."""
    batch = dict(batch)
    rows = {key: batch[key][:, :-1] for key in (*obs_keys, *act_keys)}
    rows["reward"] = shift_to_textbook(batch["reward"])
    rows["done"] = shift_to_textbook(batch["is_last"])
    rows["terminal"] = shift_to_textbook(batch["is_terminal"])
    rows["is_first"] = batch["is_first"][:, :-1]
    rows["valid"] = ~batch["is_last"][:, :-1]
    return rows


# ---------------------------------------------------------------------------- names


class NameMapError(ValueError):
    """A name map that leaves an official parameter unaccounted for, or maps two onto one."""


@dataclass(frozen=True)
class NameMap:
    """Official flat parameter names -> a target's own.

    `rules`: (pattern, replacement) pairs tried in order; the first pattern that matches the
    whole official name (`re.fullmatch`) renames it with `re.sub`-style groups (`\\1`).
    `unused`: patterns (whole-name) for official parameters the target has no use for
    (a slow critic kept elsewhere, say). Every official name must be matched by exactly one
    of the two, and no two may land on one target name.
    """

    rules: tuple[tuple[str, str], ...]
    unused: tuple[str, ...] = ()

    def _match(self, official: str) -> tuple[str, str | None]:
        """(the pattern that decides, the target's name or None if declared unused)."""
        for pattern, replacement in self.rules:
            if re.fullmatch(pattern, official):
                return pattern, re.sub(f"^(?:{pattern})$", replacement, official)
        for pattern in self.unused:
            if re.fullmatch(pattern, official):
                return pattern, None
        raise NameMapError(f"official parameter {official!r} is neither mapped nor declared "
                           "unused: add a rule for it, or a pattern to unused")

    def target_name(self, official: str) -> str | None:
        """The target's name for an official one; None if it is declared unused."""
        return self._match(official)[1]

    def names(self, official_names: Iterable[str]) -> dict[str, str]:
        """{official: target} for every official name not declared unused, checked: every
        name accounted for (all the offenders in one message), no two onto one target name,
        and every rule and unused pattern deciding some name (one that never does is a
        misspelling, or shadowed by an earlier rule)."""
        mapping, missing, used = {}, [], set()
        for name in sorted(official_names):
            try:
                pattern, target = self._match(name)
            except NameMapError:
                missing.append(name)
                continue
            used.add(pattern)
            if target is not None:
                mapping[name] = target
        if missing:
            raise NameMapError(f"{len(missing)} official parameters neither mapped nor declared "
                               f"unused: {', '.join(missing)}")
        taken: dict[str, list[str]] = {}
        for name, target in mapping.items():
            taken.setdefault(target, []).append(name)
        clashes = {t: names for t, names in taken.items() if len(names) > 1}
        if clashes:
            raise NameMapError("official parameters mapped onto one target name: " + "; ".join(
                f"{t} <- {', '.join(names)}" for t, names in sorted(clashes.items())))
        stale = [p for p in [*(p for p, _ in self.rules), *self.unused] if p not in used]
        if stale:
            raise NameMapError(f"patterns that decide no official parameter: {', '.join(stale)}")
        return mapping

    def to_target(self, params: Mapping[str, object]) -> dict[str, object]:
        """Official flat parameters -> {target name: array}, unused ones left out."""
        return {target: params[name] for name, target in self.names(params).items()}

    def to_official(self, values: Mapping[str, object],
                    official_names: Iterable[str]) -> dict[str, object]:
        """{target name: value} (gradients, updated parameters) -> official names; every
        mapped official name must come back."""
        mapping = self.names(official_names)
        missing = sorted(t for t in mapping.values() if t not in values)
        if missing:
            raise NameMapError(f"target values lack {', '.join(missing)}")
        return {name: values[target] for name, target in mapping.items()}
