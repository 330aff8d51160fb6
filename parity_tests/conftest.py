"""Shared fixtures: the official agent (the real one, never a stand-in) and a fixed batch.

When the official code cannot be obtained or imported, parity tests SKIP on a developer
machine (with the command that fixes it) but FAIL under CI=true: a gate that skips is no gate.
"""

from __future__ import annotations

import os

import numpy as np

import pytest

from reimpl.spaces import discrete_act_space, image_obs_space

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
def official_agent(official, obs_space, act_space):
    from reference_adapter import OfficialAgent

    agent = OfficialAgent(obs_space, act_space, preset="debug")
    agent.init(seed=0)
    return agent


@pytest.fixture(scope="session")
def batch(official_agent):
    return official_agent.example_batch(BATCH_SIZE, BATCH_LENGTH, seed=0)


# ------------------------------------------------------------- target and findings


def pytest_addoption(parser):
    group = parser.getgroup("parity")
    group.addoption("--target", default=None,
                    help="implementation to test, 'package.module:factory' (default: reimpl)")
    group.addoption("--registry", default=None,
                    help="registry of known differences (default: parity_tests/registry.toml "
                         "for the reimpl target, none for others)")
    group.addoption("--parity-report", default=None, metavar="PATH",
                    help="write the findings report (PARITY.md) to PATH after the run")


def _target_spec(config) -> str:
    from parity_tests.target import DEFAULT_TARGET

    return config.getoption("--target") or DEFAULT_TARGET


def pytest_configure(config):
    from pathlib import Path

    from parity_tests import findings

    spec = _target_spec(config)
    registry_path = config.getoption("--registry")
    if registry_path is None and config.getoption("--target") is None:
        registry_path = findings.DEFAULT_REGISTRY
    registry = findings.load_registry(Path(registry_path) if registry_path else None)
    config._parity_recorder = findings.Recorder(registry=registry, target=spec)


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("--parity-report")
    recorder = getattr(session.config, "_parity_recorder", None)
    if not path or recorder is None or not recorder.records:
        return
    from parity_tests import report

    with open(path, "w") as file:
        file.write(report.render(recorder.records, recorder.registry, recorder.target))
    print(f"\nparity report written to {path} ({len(recorder.records)} checks)")


@pytest.fixture(scope="session")
def parity(request):
    return request.config._parity_recorder


@pytest.fixture(scope="session")
def target(request):
    from parity_tests.target import load_target

    return load_target(_target_spec(request.config))



# --------------------------------------------------------------- shared weights

PARAM_NOISE = 0.5  # see shared_params


@pytest.fixture(scope="session")
def shared_params(official_agent):
    """The official initial parameters plus seeded Gaussian noise. At init the reward, value
    and policy heads are exactly zero (outscale 0) and the KL terms sit at the free-nats
    clip, so a comparison there could not see most errors; the noise makes every term live."""
    rng = np.random.default_rng(1)
    return {
        name: (value + PARAM_NOISE * rng.standard_normal(value.shape)).astype(value.dtype)
        for name, value in official_agent.get_params().items()
    }


@pytest.fixture(scope="session")
def shared_variables(official_agent, shared_params):
    return {**official_agent.variables, **shared_params}
