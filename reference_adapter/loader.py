"""Import the official modules from the verified cache, set up to compute in float32.

This package is the only place in the project that imports `dreamerv3`, `embodied` or
`ninjax`; everything else reaches the official agent through the adapter's functions.
"""

from __future__ import annotations

import functools
import sys
import types
from dataclasses import dataclass
from typing import Any

from .errors import ReferenceUnavailable
from .source import FETCH_COMMAND, ensure_sources


@dataclass(frozen=True)
class Official:
    """The official modules the adapter drives."""

    agent: Any  # dreamerv3.agent
    rssm: Any  # dreamerv3.rssm
    nets: Any  # embodied.jax.nets
    outs: Any  # embodied.jax.outs
    heads: Any  # embodied.jax.heads
    utils: Any  # embodied.jax.utils
    opt: Any  # embodied.jax.opt
    elements: Any
    ninjax: Any


def _import_all():
    import elements
    import jax.numpy as jnp
    import ninjax

    # The sdist omits embodied/envs/ but embodied/__init__.py does `from . import envs`.
    sys.modules.setdefault("embodied.envs", types.ModuleType("embodied.envs"))
    import dreamerv3.agent
    import dreamerv3.rssm
    import embodied.jax.heads
    import embodied.jax.nets
    import embodied.jax.opt
    import embodied.jax.outs
    import embodied.jax.utils

    # The official default compute dtype is bfloat16, a module-level global read at call time;
    # parity is checked in float32 on both sides.
    embodied.jax.nets.COMPUTE_DTYPE = jnp.float32
    embodied.jax.utils.COMPUTE_DTYPE = jnp.float32
    return Official(
        agent=dreamerv3.agent,
        rssm=dreamerv3.rssm,
        nets=embodied.jax.nets,
        outs=embodied.jax.outs,
        heads=embodied.jax.heads,
        utils=embodied.jax.utils,
        opt=embodied.jax.opt,
        elements=elements,
        ninjax=ninjax,
    )


@functools.cache
def load() -> Official:
    """The official modules; fetches the sources on first use. Raises ReferenceUnavailable."""
    path = ensure_sources()
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
    try:
        return _import_all()
    except ImportError as error:
        raise ReferenceUnavailable(
            f"the official sources are at {path} but importing them failed: {error}. "
            f"Install the runtime dependencies with `pip install -e '.[reference]'` "
            f"(then `{FETCH_COMMAND}` re-checks)"
        ) from error
