"""The official agent config stated by a typed agent config: the layout of reimpl/config.py
(nested frozen dataclasses whose fields carry the official key names), read through
`dataclasses.asdict` only, so this side imports nothing of the reimpl.

Every field becomes the official dotted key it names (`rssm.deter` -> `dyn.rssm.deter`,
`enc.depth` -> `enc.simple.depth`, `opt.lr` -> `opt.lr`), so a learner built from the typed
config trains with the same hyperparameters. Fields the official configs.yaml has no key for
are listed below: the official code uses its own values there.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .official_config import make_config

# Typed sub-config -> official section; the others keep their name.
SECTIONS = {"rssm": "dyn.rssm", "enc": "enc.simple", "dec": "dec.simple"}

# Fields with no official key that change what the official code computes: refused unless
# they hold the value the official code uses.
FIXED = {
    "compute_dtype": "float32",  # reference_adapter/loader.py sets the official COMPUTE_DTYPE
    "dec.simple.symlog": True,  # dreamerv3/rssm.py Decoder.symlog
}
# Fields with no official key that the official code does not read for these heads, or reads
# only when valnorm/advnorm are on (impl other than 'none'; official: Normalize's signature
# defaults, not configurable).
UNREAD = {
    "rewhead.minstd", "rewhead.maxstd", "rewhead.unimix", "conhead.bins", "conhead.minstd",
    "conhead.maxstd", "conhead.unimix", "policy.output", "policy.bins", "value.minstd",
    "value.maxstd", "value.unimix", "valnorm.perclo", "valnorm.perchi", "valnorm.debias",
    "advnorm.perclo", "advnorm.perchi", "advnorm.debias",
}


def _dotted(tree: dict[str, Any]) -> dict[str, Any]:
    flat = {}
    for name, value in tree.items():
        if isinstance(value, dict):
            section = SECTIONS.get(name, name)
            flat.update({f"{section}.{key}": item for key, item in value.items()})
        else:
            flat[name] = value
    return {k: list(v) if isinstance(v, tuple) else v for k, v in flat.items()}


def official_overrides(config) -> dict[str, Any]:
    """{official dotted key: value} for every field of `config` with an official key; raises
    ValueError naming a FIXED field that departs from the official value, or a field this
    module does not know."""
    flat = _dotted(dataclasses.asdict(config))
    known = make_config("defaults").flat
    unknown = sorted(set(flat) - set(known) - set(FIXED) - UNREAD)
    if unknown:
        raise ValueError(f"agent config fields {unknown} have no official key; state them in "
                         "reference_adapter/typed_config.py (FIXED or UNREAD)")
    departs = [f"{key}={flat[key]!r} (official: {value!r})" for key, value in FIXED.items()
               if flat.get(key, value) != value]
    if departs:
        raise ValueError(f"the official agent has no setting for {', '.join(departs)}")
    return {key: value for key, value in flat.items() if key in known}
