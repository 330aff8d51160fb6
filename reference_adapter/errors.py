"""Errors the adapter raises: each names the offender and the fix."""

from __future__ import annotations


class ReferenceUnavailable(RuntimeError):
    """The official DreamerV3 sources could not be obtained or imported."""


class ParameterError(ValueError):
    """A parameter dict does not match the official layout (names, shapes, dtypes)."""


class BatchError(ValueError):
    """A batch does not match the observation/action spaces the agent was built for."""
