"""Compiled programs hold memory mappings until they are dropped, and the suite drops them
when a process crowds the kernel's limit (parity_tests/memory_maps.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from parity_tests import memory_maps

pytestmark = pytest.mark.skipif(not memory_maps.in_use(), reason="no /proc/self/maps here")


def _compile(count: int) -> list:
    programs = [jax.jit(lambda x, i=i: jnp.tanh(x + i).sum()) for i in range(count)]
    for program in programs:
        program(jnp.ones(4)).block_until_ready()
    return programs


def test_compiled_programs_hold_mappings_until_released():
    before = memory_maps.in_use()
    programs = _compile(50)
    grown = memory_maps.in_use()
    assert grown > before + 100  # about 6 mappings a program
    assert not memory_maps.release_if_crowded(fraction=1.0)  # far below the limit: kept
    assert memory_maps.release_if_crowded(fraction=0.0)
    assert memory_maps.in_use() < grown - 100
    assert float(programs[0](jnp.ones(4))) == pytest.approx(4 * float(jnp.tanh(1.0)))
