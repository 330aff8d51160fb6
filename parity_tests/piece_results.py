"""A target's piece that raises, or returns something malformed, is one line naming the piece,
the key, what was expected and what came: never a traceback from inside a check, never a bare
broadcast error three calls later.

- `guarded(fn, piece)`: the piece as the suite calls it; an exception inside it fails the test
  with "piece imagination_loss raised KeyError: 'weight'" and how to see the traceback
  (`PARITY_TRACEBACK=1` re-raises it as it came).
- `checked(result, piece, expected)`: a dict result's arrays against the shapes the protocol
  states (docs/TARGETS.md): a key the check needs that is missing is left to the check (it is
  "not provided"), a wrong shape or a non-numeric value fails in one line.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping

import numpy as np
import pytest

TRACEBACK = "PARITY_TRACEBACK"


def guarded(fn: Callable, piece: str) -> Callable:
    if getattr(fn, "_parity_guarded", False):
        return fn

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            if os.environ.get(TRACEBACK):
                raise
            message = str(error).splitlines()[0][:300] if str(error) else ""
            raised = f"{type(error).__name__}{': ' + message if message else ''}"
        # outside the except block: the one line, without the target's exception chained
        pytest.fail(f"the target's piece {piece} raised {raised} (its own code, not a check; "
                    f"{TRACEBACK}=1 shows the traceback)", pytrace=False)

    call._parity_guarded = True
    return call


def _shape(value) -> tuple[int, ...] | None:
    """The shape of a numeric array (JAX tracers included); None for anything else."""
    if not (hasattr(value, "shape") and hasattr(value, "dtype")):
        try:
            value = np.asarray(value)
        except Exception:  # noqa: BLE001 - anything that is not an array is reported as such
            return None
    return tuple(value.shape) if np.dtype(value.dtype).kind in "biufc" else None


def checked(result, piece: str, expected: Mapping[str, tuple[tuple[int, ...], str]]):
    """`result` if every key of `expected` it holds has the stated shape ({key: (shape, how
    the docs write it)}); a result that is not a dict, or a wrong shape, fails in one line."""
    if not isinstance(result, Mapping):
        pytest.fail(f"the target's piece {piece} returned {type(result).__name__}, not a dict "
                    f"of {', '.join(expected)}", pytrace=False)
    for key, (shape, written) in expected.items():
        if key not in result:
            continue
        found = _shape(result[key])
        if found is None:
            pytest.fail(f"the target's piece {piece} returned {key} as "
                        f"{type(result[key]).__name__}, not an array of shape {written} "
                        f"{tuple(shape)}", pytrace=False)
        if found != tuple(shape):
            pytest.fail(f"the target's piece {piece} returned {key} of shape {found}, expected "
                        f"{written} {tuple(shape)}", pytrace=False)
    return result
