"""Craftax's rendered block textures, cached once per user instead of once per installation.

Craftax renders its textures on first use (eager JAX on the CPU) and saves them next to its own
sources (`craftax/craftax/assets/texture_cache.pbz2`, and `texture_cache_classic.pbz2`), so every
fresh virtual environment pays for them again: 205 s for Craftax and 43 s for Craftax-Classic
on an Intel Xeon (2 cores), measured from a new venv. `use_user_cache` points both at
DREAMER_PARITY_CACHE (default ~/.cache/dreamer-parity) under the installed craftax version,
before an environment is built; the files are craftax's own, written by craftax.
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

# craftax module holding TEXTURE_CACHE_FILE (read by its load_all_textures at call time) -> file
MODULES = {"craftax.craftax.constants": "texture_cache.pbz2",
           "craftax.craftax_classic.constants": "texture_cache_classic.pbz2"}


def directory() -> Path:
    root = os.environ.get("DREAMER_PARITY_CACHE", str(Path.home() / ".cache/dreamer-parity"))
    return Path(root) / f"craftax-{importlib.metadata.version('craftax')}"


def use_user_cache() -> None:
    """Point craftax's texture caches into `directory()` (created if missing)."""
    import importlib

    folder = directory()
    folder.mkdir(parents=True, exist_ok=True)
    for module, name in MODULES.items():
        importlib.import_module(module).TEXTURE_CACHE_FILE = str(folder / name)
