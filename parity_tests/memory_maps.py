"""Keep a long pytest process under the kernel's limit on memory mappings.

XLA:CPU maps the code of every compiled program into memory, about 6 mappings per program
(measured: 200 small programs, 1,270 mappings, all released by `jax.clear_caches()`). A process
running the whole suite compiles thousands: 21,500 mappings two minutes into the parity suite.
Past `vm.max_map_count` (65,530 by default) an mmap fails inside XLA's compiler and the process
dies with a segmentation fault; seen twice, both times in test_power near the end of a full
run, while the same tests run on their own passed. The suite's conftests drop every compiled
program after a test (session.py) once half the limit is in use (after a module was not
enough: test_power alone adds 25,000 mappings); the next test compiles what it needs again.
Counting the mappings after each test costs about 5 ms at 16,000 (wc on /proc), ~15 ms at 50,000.
"""

from __future__ import annotations

from pathlib import Path

import jax

LIMIT_FILE = Path("/proc/sys/vm/max_map_count")
MAPS_FILE = Path("/proc/self/maps")


def in_use() -> int:
    """Memory mappings of this process; 0 where /proc does not tell."""
    try:
        with MAPS_FILE.open() as maps:
            return sum(1 for _ in maps)
    except OSError:
        return 0


def limit() -> int:
    try:
        return int(LIMIT_FILE.read_text())
    except (OSError, ValueError):
        return 65530


def release_if_crowded(fraction: float = 0.5) -> bool:
    """Drop every compiled program when more than `fraction` of the limit is in use."""
    if in_use() <= fraction * limit():
        return False
    jax.clear_caches()
    return True
