"""What a pytest process running the suite sets up before JAX is imported: CPU only, compiled
programs kept on disk between runs (compile_cache.py), deterministic hypothesis under CI, and
compiled programs dropped between tests before they exhaust the process's memory mappings
(memory_maps.py). Called by this repository's root conftest, by parity_tests/conftest.py (a
run of the installed suite from another folder) and by the plugin before it imports a
--target; a second call changes nothing."""

from __future__ import annotations

import os

import pytest

from . import compile_cache


def prepare() -> None:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    compile_cache.enable()
    from hypothesis import Phase, settings

    settings.register_profile("ci", derandomize=True, deadline=None, max_examples=50)
    settings.register_profile("dev", deadline=None, max_examples=50)
    # The mutant runner (parity_tests/mutants) needs to know which checks fail, not the smallest
    # failing example: CI's examples, no shrinking (each shrink step may compile a new shape).
    settings.register_profile("mutants", derandomize=True, deadline=None, max_examples=50,
                              database=None,
                              phases=(Phase.explicit, Phase.reuse, Phase.generate))
    settings.load_profile(os.environ.get("PARITY_HYPOTHESIS_PROFILE")
                          or ("ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def _release_compiled_programs():
    """Imported by each conftest under this name: the one nearest a test runs, once."""
    yield
    from . import memory_maps

    memory_maps.release_if_crowded()
