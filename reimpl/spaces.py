"""Observation and action spaces: shape, dtype and (for discrete spaces) the number of classes.

The official agent describes spaces with `elements.Space`; this is the framework-free subset
that both sides need. The reference adapter converts it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Keys the official agent treats as bookkeeping, never as inputs to encode or decode.
NON_SENSORY_KEYS = ("is_first", "is_last", "is_terminal", "reward")


@dataclass(frozen=True)
class Space:
    shape: tuple[int, ...]
    dtype: str
    classes: int | None = None  # discrete spaces: values are integers in [0, classes)

    @property
    def discrete(self) -> bool:
        return self.classes is not None

    @property
    def is_image(self) -> bool:
        return np.dtype(self.dtype) == np.uint8 and len(self.shape) == 3


def bookkeeping_spaces() -> dict[str, Space]:
    return {
        "reward": Space((), "float32"),
        "is_first": Space((), "bool"),
        "is_last": Space((), "bool"),
        "is_terminal": Space((), "bool"),
    }


def image_obs_space(size: int = 64, channels: int = 3) -> dict[str, Space]:
    return {"image": Space((size, size, channels), "uint8"), **bookkeeping_spaces()}


def vector_obs_space(dim: int) -> dict[str, Space]:
    return {"vector": Space((dim,), "float32"), **bookkeeping_spaces()}


def discrete_act_space(num_actions: int) -> dict[str, Space]:
    return {"action": Space((), "int32", classes=num_actions)}


def sensory_keys(obs_space: dict[str, Space]) -> list[str]:
    return [key for key in obs_space if key not in NON_SENSORY_KEYS]
