"""Checks that a flat dict matches the official variable layout exactly."""

from __future__ import annotations

import numpy as np

from .errors import ParameterError


def check(
    given: dict, spec: dict[str, tuple[tuple[int, ...], np.dtype]], what: str,
    check_finite: bool = True,
) -> None:
    """Raise ParameterError naming every missing, unknown, mis-shaped, mis-typed or
    non-finite entry (all of them at once, so one run shows everything to fix)."""
    problems = []
    for name in sorted(spec.keys() - given.keys()):
        shape, dtype = spec[name]
        problems.append(f"missing {what} {name!r} (expected shape {shape}, dtype {dtype})")
    for name in sorted(given.keys() - spec.keys()):
        problems.append(f"unknown {what} {name!r}: the official agent has no such entry")
    for name in sorted(given.keys() & spec.keys()):
        shape, dtype = spec[name]
        value = np.asarray(given[name])
        if value.shape != tuple(shape):
            problems.append(f"{what} {name!r} has shape {value.shape}, expected {shape}")
        elif value.dtype != dtype:
            problems.append(f"{what} {name!r} has dtype {value.dtype}, expected {dtype}")
        elif check_finite and np.issubdtype(value.dtype, np.floating):
            bad = int((~np.isfinite(value)).sum())
            if bad:
                problems.append(f"{what} {name!r} has {bad} non-finite values (NaN or inf)")
    if problems:
        raise ParameterError(f"{len(problems)} problem(s):\n  " + "\n  ".join(problems))
