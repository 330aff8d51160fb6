"""Convert framework-free space descriptions into the official `elements.Space`.

Any object with `shape`, `dtype` and (for discrete spaces) `classes` works, e.g.
`reimpl.spaces.Space`; no import of the reimpl is needed.
"""

from __future__ import annotations

import numpy as np

from .loader import load


def to_official(spaces: dict) -> dict:
    elements = load().elements
    converted = {}
    for key, space in spaces.items():
        dtype = np.dtype(space.dtype)
        classes = getattr(space, "classes", None)
        if dtype.kind == "b":
            converted[key] = elements.Space(bool, tuple(space.shape))
        elif classes is not None:
            converted[key] = elements.Space(dtype, tuple(space.shape), 0, classes)
        else:
            converted[key] = elements.Space(dtype, tuple(space.shape))
    return converted
