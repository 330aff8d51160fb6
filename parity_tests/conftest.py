"""Shared fixtures: the official agent (the real one, never a stand-in) and a fixed batch.

When the official code cannot be obtained or imported, parity tests SKIP on a developer
machine (with the command that fixes it) but FAIL under CI=true: a gate that skips is no gate.
"""

from __future__ import annotations

import os

from parity_tests import session

session.prepare()  # before JAX is imported: the installed suite run from any folder

import pytest  # noqa: E402

from parity_tests import operating_point  # noqa: E402
from parity_tests.session import _release_compiled_programs  # noqa: E402, F401
from reimpl.spaces import discrete_act_space, image_obs_space  # noqa: E402

BATCH_SIZE, BATCH_LENGTH = 4, 10  # official debug preset runs at 8x10; 4x10 halves the cost


def _reference_or_fail():
    from reference_adapter import ReferenceUnavailable, loader

    try:
        return loader.load()
    except ReferenceUnavailable as error:
        message = f"official DreamerV3 unavailable: {error}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def official():
    return _reference_or_fail()


@pytest.fixture(scope="session")
def obs_space():
    return image_obs_space(64)


@pytest.fixture(scope="session")
def act_space():
    return discrete_act_space(17)


@pytest.fixture(scope="session")
def preset_name():
    """The preset network-level pieces are asked for (parity_tests/operating_point.py)."""
    return operating_point.PRESET


@pytest.fixture(scope="session")
def official_agent(official, obs_space, act_space):
    from reference_adapter import OfficialAgent

    agent = OfficialAgent(obs_space, act_space, preset=operating_point.BASE_PRESET,
                          overrides=operating_point.OVERRIDES)
    agent.init(seed=0)
    return agent


@pytest.fixture(scope="session")
def batch(official_agent):
    return official_agent.example_batch(BATCH_SIZE, BATCH_LENGTH, seed=0)


# --------------------------------------------------------------- shared weights


@pytest.fixture(scope="session")
def shared_params(official_agent):
    """Noised official parameters whose heads predict at training scale (operating_point.py)."""
    return operating_point.shared_params(official_agent.get_params())


@pytest.fixture(scope="session")
def shared_variables(official_agent, shared_params):
    return operating_point.shared_variables(official_agent.variables, shared_params)
