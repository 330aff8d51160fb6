"""Project-wide pytest setup: CPU only, compiled programs kept on disk between runs
(parity_tests/compile_cache.py), deterministic hypothesis under CI, and compiled programs
dropped between tests before they exhaust the process's memory mappings
(parity_tests/memory_maps.py)."""

import os

from parity_tests import compile_cache

os.environ.setdefault("JAX_PLATFORMS", "cpu")
compile_cache.enable()  # before anything imports JAX, which reads these variables once

import pytest  # noqa: E402
from hypothesis import Phase, settings  # noqa: E402

from parity_tests import memory_maps  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=50)
settings.register_profile("dev", deadline=None, max_examples=50)
# The mutant runner (parity_tests/mutants) needs to know which checks fail, not the smallest
# failing example: CI's examples, no shrinking (each shrink step may compile a new shape).
settings.register_profile("mutants", derandomize=True, deadline=None, max_examples=50,
                          database=None, phases=(Phase.explicit, Phase.reuse, Phase.generate))
settings.load_profile(os.environ.get("PARITY_HYPOTHESIS_PROFILE")
                      or ("ci" if os.environ.get("CI") else "dev"))

pytest_plugins = ("parity_tests.plugin",)


@pytest.fixture(autouse=True)
def _release_compiled_programs():
    yield
    memory_maps.release_if_crowded()
