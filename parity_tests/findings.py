"""Findings: every parity check becomes a record; the registry decides which may disagree.

A check that disagrees and is not in the registry fails the run (an unregistered finding). A
registered difference that no longer reproduces fails too, until its entry is marked FIXED:
the registry is kept true.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from . import compare as compare_lib
from . import composites, difference_form, piece_results, tolerances
from .target import DEFAULT_TARGET

TAGS = ("BUG", "CRITDIFF", "DIFF", "MINOR", "CONFIG", "TOCHECK", "FIXED")
DEFAULT_REGISTRY = Path(__file__).with_name("registry.toml")
# What a term or piece of the official algorithm that a target does not have is: a change of
# what the agent learns.
ABSENT_TAG = "CRITDIFF"


@dataclass(frozen=True)
class Known:
    check: str
    tag: str
    reason: str


@dataclass
class Record:
    check: str  # stable id, "area/quantity/variant"
    tag: str  # the tag this check earns when it disagrees
    description: str
    tolerance: str
    status: str  # agree | differs | known | follows | absent | vanished | not provided
    comparison: compare_lib.Comparison | None = None
    known: Known | None = None
    # status "follows": the earlier checks (or building blocks) whose differences this one's
    # entirely is (parity_tests/stages.py); the first cause is where a departure enters
    follows: tuple[str, ...] = ()

    @property
    def area(self) -> str:
        return self.check.split("/", 1)[0]

    @property
    def structural(self) -> bool:
        """Failed on structure (shapes, keys, NaN positions, inf values), not on values. A
        property verdict keeps its failure detail in `problems` too, but that is a value."""
        return bool(self.comparison and self.comparison.problems) and self.tolerance != "property"


class DeclaredAbsent(BaseException):  # noqa: N818 - not an error: the test ends as passed
    """Raised by a check of what the target declares absent, after its finding is recorded;
    the plugin turns it into a passed test (parity_tests/plugin.py)."""


class RegistryError(ValueError):
    """A registry file that is missing or malformed; the message names the file and entry."""


def load_registry(path: Path | None) -> dict[str, Known]:
    """{check: Known} from a registry TOML file (`[[difference]]` tables with check, tag and
    reason); None is the empty registry. A path that names no file is an error, not an empty
    registry: a misspelled --registry would otherwise turn every known difference into a
    failure (or, worse, hide that the registry was not read)."""
    if path is None:
        return {}
    if not path.is_file():
        raise RegistryError(f"no registry file at {path}")
    try:
        entries = tomllib.loads(path.read_text()).get("difference", [])
    except tomllib.TOMLDecodeError as error:
        raise RegistryError(f"{path} is not valid TOML: {error}") from None
    if not isinstance(entries, list):
        raise RegistryError(f"{path}: 'difference' must be an array of tables "
                            "([[difference]] with check, tag and reason)")
    registry = {}
    for number, entry in enumerate(entries, 1):
        missing = [key for key in ("check", "tag", "reason")
                   if not isinstance(entry, dict) or not isinstance(entry.get(key), str)]
        if missing:
            raise RegistryError(f"{path}: difference #{number} lacks {', '.join(missing)} "
                                "(each needs check, tag and reason as strings)")
        tag = entry["tag"].strip("[]")
        if tag not in TAGS:
            raise RegistryError(f"{path}: check {entry['check']!r} has unknown tag {tag!r} "
                                f"(one of {', '.join(TAGS)})")
        if entry["check"] in registry:
            raise RegistryError(f"{path}: check {entry['check']!r} is registered twice")
        registry[entry["check"]] = Known(entry["check"], tag, entry["reason"])
    return registry


STATUS_RANK = {"not provided": 0, "agree": 1, "absent": 2, "follows": 3, "known": 4,
               "vanished": 5, "differs": 6}


def _worse(new: Record, old: Record) -> bool:
    """Across the examples of one check, the report keeps the worst; of equally bad ones the
    latest, so a property that states a running measure (the largest input so far) reports
    the whole range tested."""
    if STATUS_RANK[new.status] != STATUS_RANK[old.status]:
        return STATUS_RANK[new.status] > STATUS_RANK[old.status]
    if new.comparison is None or old.comparison is None:
        return False
    return new.comparison.max_rel >= old.comparison.max_rel


@dataclass
class Recorder:
    registry: dict[str, Known]
    target: str
    by_check: dict[str, Record] = field(default_factory=dict)
    # What each check can see (parity_tests/test_power.py): (check, planted change, margin
    # over its tolerance, margin required), for the report.
    sight: list[tuple[str, str, float, float]] = field(default_factory=list)
    # What the target declares its algorithm does not have: {name: reason} (declarations.py)
    absent: dict[str, str] = field(default_factory=dict)

    def sees(self, check: str, change: str, margin: float, required: float) -> None:
        self.sight.append((check, change, margin, required))

    @property
    def records(self) -> list[Record]:
        return list(self.by_check.values())

    def _add(self, record: Record) -> None:
        old = self.by_check.get(record.check)
        if old is None or _worse(record, old):
            self.by_check[record.check] = record

    def check(self, check: str, tag: str, description: str, ours, ref, tolerance: str,
              explanations: Sequence[tuple[str, str, object]] = (),
              follows: Callable[[], tuple[tuple[str, ...], object] | None] | None = None,
              setting: Callable[[], tuple[str, object] | None] | None = None,
              diagnosis: Callable[[], str] | None = None,
              ) -> Record:
        """Compare, record, and fail the test on an unregistered or vanished difference.

        `explanations`: (what it would mean, its tag, alternative reference), each an official
        computation with one known variation (the target's own bins, the first release's
        form). When the target differs from `ref` but agrees with an alternative, the
        difference is entirely that variation: the finding says so and takes its tag (a
        two-hot loss right for symlog-space bins is that [DIFF], not a [BUG] of the loss).

        `follows`, asked only when the check differs: (the earlier checks that differ, the
        official arithmetic of this stage applied to the target's own earlier quantities), or
        None. When the target agrees with that, the difference is not this stage's: the
        record's status is "follows" (naming them), it fails nothing and needs no registry
        entry; the first cause is reported, and registered, where it enters.

        `setting`, asked only for a first cause: (what it means, the official stage with one
        setting changed and fitted: parity_tests/settings_explained.py[, a tag]) or None. When
        the target agrees with that, the finding is [CONFIG] (or the tag given: [BUG] for a
        scale fitted with its sign flipped), "explained: imag_loss.lam 0.9 (official 0.95)".

        A check that differs on values, unexplained, while a check of one of its parts
        differs (parity_tests/composites.py: a weight-level loss and its loss arithmetic,
        networks and rollout wiring; a quantity and its time-index probes) follows from those.

        `diagnosis`, asked only when the check differs on values: a line saying where and how
        (the first update that differs, the rate the target mixes), added to the finding."""
        assert tag in TAGS, tag
        comparison = compare_lib.compare(ours, ref, tolerances.get(tolerance))
        if not comparison.ok and not comparison.problems:
            comparison = dataclasses.replace(comparison, form=difference_form.form(ours, ref))
        if not comparison.ok:
            for meaning, variation_tag, alternative in explanations:
                if compare_lib.compare(ours, alternative, tolerances.get(tolerance)).ok:
                    tag = variation_tag
                    comparison = dataclasses.replace(
                        comparison, where=f"{comparison.where}; explained: {meaning}")
                    break
        if not comparison.ok and not comparison.problems and follows is not None:
            attribution = follows()
            if attribution is not None:
                earlier, recomputed = attribution
                if earlier and compare_lib.compare(ours, recomputed,
                                                   tolerances.get(tolerance)).ok:
                    record = Record(check, tag, description, tolerance, "follows", comparison,
                                    self.registry.get(check), tuple(earlier))
                    self._add(record)
                    return record
        explained = None
        if not comparison.ok and not comparison.problems and setting is not None:
            explained = setting()
            if explained is not None and compare_lib.compare(
                    ours, explained[1], tolerances.get(tolerance)).ok:
                tag = explained[2] if len(explained) > 2 else "CONFIG"
                comparison = dataclasses.replace(
                    comparison, where=f"{comparison.where}; explained: {explained[0]}")
            else:
                explained = None
        parts = (composites.parts_that_differ(self.by_check, check)
                 if not comparison.ok and not comparison.problems and explained is None else ())
        if parts:
            record = Record(check, tag, description, tolerance, "follows", comparison,
                            self.registry.get(check), parts)
            self._add(record)
            return record
        if not comparison.ok and not comparison.problems and diagnosis is not None:
            comparison = dataclasses.replace(comparison,
                                             where=f"{comparison.where}; {diagnosis()}")
        return self._settle(check, tag, description, tolerance, comparison)

    def verdict(self, check: str, tag: str, description: str, agrees: bool, detail: str,
                measured: str = "", margin: float | None = None, form: str = "",
                follows: tuple[str, ...] = ()) -> Record:
        """Record a check decided by a property rather than an elementwise comparison:
        `detail` says what failed, `measured` what was measured when it holds (for the report),
        `margin` the measured quantity over its bound where the property has one (NaN: none),
        `form` the difference's form where the property measured one (difference_form.py).
        `follows`: the earlier checks that differ and whose difference this property's failure
        is a consequence of (a probe of losses computed from the states an earlier probe found
        departing): the record is "follows", naming them, and fails nothing."""
        comparison = compare_lib.Comparison(agrees, 0.0, 0.0, measured if agrees else "",
                                            () if agrees else (detail,),
                                            float("nan") if margin is None else margin,
                                            "" if agrees else form)
        if not agrees and follows:
            record = Record(check, tag, description, "property", "follows", comparison,
                            self.registry.get(check), tuple(follows))
            self._add(record)
            return record
        return self._settle(check, tag, description, "property", comparison)

    def piece(self, target, name: str, check: str, tag: str, description: str,
              within: str | None = None):
        """The target's piece `name` (or with `within`, the key `name` of that piece's result,
        `target` being the result as a namespace); if it has none, a 'not provided' record and
        a skip, or where the target declares it absent a finding with its reason. In CI the
        default target (the reimpl) must provide every piece: a missing one fails, so a
        renamed piece cannot turn its checks into silent skips."""
        found = getattr(target, name, None)
        reason = self.absent.get(name) or (within and self.absent.get(f"{within}.{name}"))
        if found is None and reason:
            self.declared_absent(check, description, name, reason)
        if found is None:
            self._add(Record(check, tag, description, "-", "not provided"))
            if os.environ.get("CI") and self.target == DEFAULT_TARGET:
                pytest.fail(f"the default target {self.target} does not provide {name!r} "
                            f"(check {check}): the default target must provide every piece",
                            pytrace=False)
            pytest.skip(f"target {self.target} does not provide {name!r}: reported as such")
        return piece_results.guarded(found, name) if callable(found) else found

    def not_measurable(self, check: str, tag: str, description: str, why: str):
        """A check the target's declared form cannot feed (a per-step probe of losses it
        returns as batch means): 'not provided', saying why, and a skip."""
        self._add(Record(check, tag, description + f" (not measurable: {why})", "-",
                         "not provided"))
        pytest.skip(f"{check}: {why}")

    def declared_absent(self, check: str, description: str, name: str, reason: str):
        """The check of something the target declares its algorithm does not have: a finding
        with the reason and the tag of a missing term, whatever the check's own tag (a time
        index probe, a gradient flow), which fails nothing (the declaration is the
        registration); the test ends here as passed."""
        tag = ABSENT_TAG
        comparison = compare_lib.Comparison(False, float("nan"), float("nan"),
                                            f"declared absent ({name}): {reason}", (),
                                            float("nan"))
        self._add(Record(check, tag, description, "declared", "absent", comparison))
        raise DeclaredAbsent(check)

    def _settle(self, check, tag, description, tolerance, comparison) -> Record:
        known = self.registry.get(check)
        if known and known.tag == "FIXED":
            known = None
        if comparison.ok:
            status = "agree"
        else:
            status = "known" if known else "differs"
        record = Record(check, tag, description, tolerance, status, comparison, known)
        self._add(record)
        if status == "differs":
            pytest.fail(
                f"[{tag}] unregistered finding {check}: {description}\n"
                f"  {comparison.summary()}\n"
                f"  (register it in the registry with its tag and reason if it is accepted)",
                pytrace=False,
            )
        return record

    def vanished(self) -> list[str]:
        """Registered differences that were checked and agreed in every example: their
        registry entries must become FIXED. Decided over the whole run, since one example of
        a hypothesis check may agree by chance (one latent: mean and sum coincide)."""
        vanished = [check for check, record in self.by_check.items()
                    if record.known and record.status == "agree"]
        for check in vanished:
            self.by_check[check].status = "vanished"
        return vanished


def _finite_or_none(value: float) -> float | None:
    """JSON has no NaN or infinity: None for 'no bound' and for a structural failure."""
    return value if np.isfinite(value) else None


def write_json(records: list[Record], path: str) -> None:
    """One object per check: id, tag, status, the measured error and whether the failure is
    structural rather than a value difference (for the mutant runner)."""
    rows = [{"check": r.check, "tag": r.tag, "status": r.status,
             "max_rel": r.comparison.max_rel if r.comparison else None,
             "margin": _finite_or_none(r.comparison.margin) if r.comparison else None,
             "summary": r.comparison.summary() if r.comparison else "",
             "form": r.comparison.form if r.comparison else "",
             "follows": list(r.follows),
             "structural": r.structural} for r in records]
    with open(path, "w") as file:
        json.dump(rows, file, indent=1)
