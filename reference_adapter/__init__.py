"""The official DreamerV3 agent (PyPI sdist `dreamer==3.3.1`) behind plain functions.

Weights, batches and randomness are given from outside; see `OfficialAgent`. The official
sources are fetched, verified and cached on first use (`python -m reference_adapter.fetch`).
"""

from .agent import LossResult, OfficialAgent, init_params, is_param, is_trained
from .errors import BatchError, ParameterError, ReferenceUnavailable
from .sampling import deterministic_sampling

__all__ = [
    "BatchError",
    "LossResult",
    "OfficialAgent",
    "ParameterError",
    "ReferenceUnavailable",
    "deterministic_sampling",
    "init_params",
    "is_param",
    "is_trained",
]
