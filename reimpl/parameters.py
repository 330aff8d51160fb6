"""Nested parameter trees <-> flat dicts keyed by '/'-joined official names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'dyn': {'dynin0': {'kernel': k}}} -> {'dyn/dynin0/kernel': k}."""
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of `flatten`."""
    tree: dict[str, Any] = {}
    for name, value in flat.items():
        *parents, leaf = name.split("/")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"parameter {name!r} nests under a leaf named {part!r}")
        node[leaf] = value
    return tree


def layout(flat: Mapping[str, Any]) -> dict[str, tuple[tuple[int, ...], str]]:
    """Name -> (shape, dtype name) of every entry."""
    return {
        name: (tuple(np.shape(value)), np.dtype(value.dtype).name)
        for name, value in sorted(flat.items())
    }
