"""The target protocol: what an implementation provides for the suite to compare.

A target is any object built by a factory named on the command line
(`--target package.module:factory`); each piece is an optional attribute of it. The pieces,
their signatures, the spaces, presets and batches they get, and what happens when one is
missing are listed once, in docs/TARGETS.md (tests/test_targets_doc.py keeps that table equal
to what the parity tests ask for and what the default target provides). In short: quantities
are in the OFFICIAL conventions (reward[t] arrives with observation t; is_first, is_last and
is_terminal as in the official replay), so a wrapper for a textbook-indexed implementation does
the shift and the checks prove it right or wrong; a piece a target does not provide is reported
as "not provided" in PARITY.md, never as passed. The worked example is
parity_tests/examples/toy_target.py; a PyTorch one, parity_tests/examples/torch_toy_target.py (a
target in another framework declares it and is called through parity_tests/frameworks.py).
"""

from __future__ import annotations

import importlib
from typing import Any

DEFAULT_TARGET = "parity_tests.targets.reimpl_target:make_target"


def load_target(spec: str) -> Any:
    """Build a target from 'package.module:factory'."""
    module_name, _, factory_name = spec.partition(":")
    if not module_name or not factory_name:
        raise ValueError(f"--target must look like 'package.module:factory', got {spec!r}")
    module = importlib.import_module(module_name)
    factory = getattr(module, factory_name, None)
    if factory is None:
        raise ValueError(f"--target {spec!r}: module {module_name!r} has no {factory_name!r}")
    from parity_tests import frameworks
    from parity_tests.pieces import PIECES

    return frameworks.bridged(factory(), [piece.name for piece in PIECES])
