"""Which checks can see a mutant: the checks that call an attribute it replaces.

A mutant replaces module or class attributes of the reimpl (catalogue.py). A check that never
calls any of them, directly, through a fixture it uses, or while JAX traces a program it runs,
computes exactly what it computed without the mutant, so it cannot catch it. The unmutated
baseline run records, for every check, the planted attributes it calls (`--record-calls`):

- every attribute any mutant replaces is wrapped by a recorder that notes the call and calls
  the original, so the baseline computes what it always does;
- at the start of each test file JAX's compilation and tracing caches and every `functools`
  cache are cleared, so no check reuses a program or a value another file made;
- within a file a check may reuse what an earlier check of the file made (a compiled program
  calls nothing when it runs again), so a mutant runs every check of a file from the first one
  that calls what it replaces; the checks before that one compute nothing it touches;
- calls made while a fixture is set up count for every check that uses that fixture (its value
  is cached and shared), calls outside any check (collection, imports) for every check;
- an attribute that is not a plain function (a constant, a class) cannot be watched: a mutant
  that replaces one runs every check.

`python -m parity_tests.mutants --select` then runs each mutant on the checks selected so
(`--checks-from`); a mutant no check calls has survived without a run.
"""

from __future__ import annotations

import functools
import gc
import inspect
import json
import types
from collections.abc import Callable, Iterable
from pathlib import Path

EVERYWHERE = "<outside any check>"


def key(owner: object, name: str) -> str:
    """`module.attribute` or `module.Class.attribute`."""
    if isinstance(owner, types.ModuleType):
        return f"{owner.__name__}.{name}"
    return f"{owner.__module__}.{owner.__qualname__}.{name}"


def planted(plant: Callable) -> dict[str, tuple[object, str]]:
    """The attributes a mutant's `plant` replaces, found by planting it with a patch that
    writes nothing: key -> (owner, name)."""
    found = {}

    def note(owner, name, _value):
        found[key(owner, name)] = (owner, name)

    plant(note)
    return found


def _stored(owner: object, name: str) -> tuple[type | None, object]:
    """owner.name as stored: (staticmethod or classmethod or None, the object it holds)."""
    static = inspect.getattr_static(owner, name)
    if isinstance(static, (staticmethod, classmethod)):
        return type(static), static.__func__
    return None, static


def watchable(owner: object, name: str) -> bool:
    """Whether calls of owner.name can be recorded by wrapping it: a callable, not a class."""
    inner = _stored(owner, name)[1]
    return callable(inner) and not isinstance(inner, type)


class Recorder:
    """Wraps the planted attributes and notes, per check, which of them ran."""

    def __init__(self, attributes: dict[str, tuple[object, str]]):
        self.unwatched = sorted(k for k, (owner, name) in attributes.items()
                                if not watchable(owner, name))
        self.outside: set[str] = set()  # calls while no check runs
        self.open: list[set[str]] = []  # a check's scope and its fixtures' being set up
        self.checks: dict[str, dict] = {}
        self.fixtures: dict[str, set[str]] = {}
        for attribute, (owner, name) in attributes.items():
            if attribute not in self.unwatched:
                self._wrap(attribute, owner, name)

    def _wrap(self, attribute: str, owner: object, name: str) -> None:
        kind, original = _stored(owner, name)

        @functools.wraps(original)
        def recorded(*args, **kwargs):
            for scope in self.open or [self.outside]:
                scope.add(attribute)
            return original(*args, **kwargs)

        setattr(owner, name, kind(recorded) if kind else recorded)

    def begin_check(self, nodeid: str) -> None:
        if not self.checks or _file(next(reversed(self.checks))) != _file(nodeid):
            _clear_caches()
        self.open.append(set())

    def end_check(self, nodeid: str, fixtures: Iterable[str]) -> None:
        self.checks[nodeid] = {"calls": sorted(self.open.pop()), "fixtures": sorted(fixtures)}

    def begin_fixture(self) -> None:
        self.open.append(set())

    def end_fixture(self, name: str) -> None:
        self.fixtures.setdefault(name, set()).update(self.open.pop())

    def write(self, path: Path) -> None:
        path.write_text(json.dumps({
            EVERYWHERE: sorted(self.outside), "unwatched": self.unwatched,
            "fixtures": {k: sorted(v) for k, v in self.fixtures.items()},
            "checks": self.checks}, indent=1))


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _clear_caches() -> None:
    import jax

    jax.clear_caches()
    for obj in gc.get_objects():
        if isinstance(obj, functools._lru_cache_wrapper):
            obj.cache_clear()


def selected(record: dict, attributes: Iterable[str]) -> list[str] | None:
    """The checks a mutant replacing `attributes` can move, from a recording, in run order:
    each that uses a fixture whose setup called one of them, and every check of a file from the
    first that called one on. None: every check (an attribute was called outside any check, or
    cannot be watched)."""
    wanted = set(attributes)
    if wanted & (set(record[EVERYWHERE]) | set(record["unwatched"])):
        return None
    fixtures = {name for name, calls in record["fixtures"].items() if wanted & set(calls)}
    reached: set[str] = set()  # files with a caller so far
    found = []
    for nodeid, check in record["checks"].items():
        if wanted & set(check["calls"]):
            reached.add(_file(nodeid))
        if _file(nodeid) in reached or fixtures & set(check["fixtures"]):
            found.append(nodeid)
    return found
