"""JAX's persistent compilation cache for the suite, its subprocesses and the mutant runner.

Every compiled XLA program is kept on disk (DREAMER_PARITY_CACHE/xla, default
~/.cache/dreamer-parity/xla, next to the official sources), so a second run of the suite
loads the programs the first one compiled, and each mutant run recompiles only the programs its
mutant changed. The cache is keyed by the program and the compiler, never by a test: a changed
function is a new program and compiles anew. Settings the user has made in the environment win.
"""

from __future__ import annotations

import os
from pathlib import Path


def directory() -> Path:
    root = os.environ.get("DREAMER_PARITY_CACHE", str(Path.home() / ".cache/dreamer-parity"))
    return Path(root) / "xla"


def settings() -> dict[str, str]:
    """The environment variables that turn the cache on for a JAX process started with them:
    every program is written, however quick its compile and small its executable (the suite
    compiles thousands of small programs, and the mutant runs reuse all of them)."""
    return {"JAX_COMPILATION_CACHE_DIR": str(directory()),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1"}


def enable() -> None:
    """Turn the cache on for this process (before JAX is imported) and the processes it
    starts, leaving any of the variables the user set as they are."""
    for name, value in settings().items():
        os.environ.setdefault(name, value)
