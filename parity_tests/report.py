"""Render PARITY.md from the records of one run, the registry and the environment."""

from __future__ import annotations

import math
import platform
from collections import Counter, defaultdict
from datetime import date
from importlib import metadata

from . import learning_signal
from .findings import Known, Record
from .tolerances import TOLERANCES

STATUS_TEXT = {
    "agree": "agrees",
    "differs": "**DIFFERS (unregistered)**",
    "known": "differs (registered)",
    "follows": "differs: follows",
    "absent": "declared absent",
    "vanished": "**registered difference vanished**",
    "not provided": "not provided",
}
CLOSE = 0.5  # an agreeing check at this fraction of its allowed error is listed in the summary
PACKAGES = ("jax", "jaxlib", "flax", "optax", "distrax", "chex", "numpy", "ninjax", "craftax")


def _number(value) -> str:
    return "-" if value is None else f"{value:.2e}"


def _margin(record: Record) -> float | None:
    """The worst error over the allowed one, where the check measured one."""
    comparison = record.comparison
    if comparison is None or comparison.problems or math.isnan(comparison.margin):
        return None
    return comparison.margin


def _margin_text(record: Record) -> str:
    margin = _margin(record)
    return "-" if margin is None else f"{margin:.2g}"


TAG_LEGEND = (
    "Tags (what a check earns when it disagrees): **[BUG]** wrong by any reading (a time index, "
    "a gradient that leaks, an overflow, a shared random key); **[CRITDIFF]** a real change of "
    "what the agent learns (unweighted losses, KL mean instead of sum, slow-critic targets); "
    "**[DIFF]** a change of scale or form, not of the algorithm (decoder without sigmoid, another "
    "optimizer wrapper); **[MINOR]** an option the official code has but disables; **[CONFIG]** a "
    "hyperparameter or schedule; **[TOCHECK]** needs a human look; **[FIXED]** registered and no "
    "longer reproduced."
)


def _status(record: Record) -> str:
    """Agreement decided by the absolute floor (the relative error alone exceeds rtol, e.g.
    elements near zero) says so."""
    comparison, text = record.comparison, STATUS_TEXT[record.status]
    if (record.status == "agree" and comparison is not None and not comparison.problems
            and record.tolerance in TOLERANCES
            and comparison.max_rel > TOLERANCES[record.tolerance].rtol):
        return text + " (within the absolute floor)"
    return text


def _row(record: Record) -> str:
    comparison = record.comparison
    max_abs = max_rel = None
    where = ""
    if record.tolerance in ("property", "declared"):
        where = "" if comparison is None else "; ".join(comparison.problems) or comparison.where
    elif comparison is not None and not comparison.problems:
        max_abs, max_rel = comparison.max_abs, comparison.max_rel
        where = comparison.where if comparison.max_abs > 0 else "- (equal)"
        if record.follows:
            where = "from " + ", ".join(f"`{c}`" for c in record.follows) + f"; {where}"
    elif comparison is not None:
        where = "; ".join(comparison.problems)
    tag = f"[{record.known.tag}]" if record.known else f"[{record.tag}]"
    form = comparison.form if comparison is not None else ""
    return (
        f"| `{record.check}` | {_status(record)} | {record.tolerance} | {_margin_text(record)} | "
        f"{_number(max_abs)} | {_number(max_rel)} | {form or '-'} | {where.replace('|', '/')} "
        f"| {tag} |"
    )


def first_causes(records: list[Record]) -> dict[str, list[str]]:
    """Each first cause (a differing check that follows from nothing, or a building block
    named by one that follows) -> the checks that follow from it, through any chain."""
    by_check = {r.check: r for r in records}

    def roots(check: str, seen: frozenset = frozenset()) -> set[str]:
        record = by_check.get(check)
        if record is None or record.status != "follows" or check in seen:
            return {check}
        return set().union(*(roots(c, seen | {check}) for c in record.follows))

    groups: dict[str, list[str]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r.check):
        if record.status == "follows":
            for root in sorted(roots(record.check)):
                groups[root].append(record.check)
    return dict(groups)


def _first_causes(records: list[Record]) -> list[str]:
    groups = first_causes(records)
    if not groups:
        return []
    by_check = {r.check: r for r in records}

    def label(check: str) -> str:
        record = by_check.get(check)
        if record is None:
            return f"`{check}` (a building block the target provides)"
        tag = record.known.tag if record.known and record.status != "follows" else record.tag
        return f"`{check}` [{tag}] {STATUS_TEXT[record.status]}"

    lines = ["", "## First causes", "",
             "Each differing check that is entirely an earlier one's difference (the official "
             "arithmetic of its stage, applied to the target's own earlier quantities, gives the "
             "target's value: `parity_tests/stages.py`) is listed under the difference it follows "
             "from, where that departure enters. A first cause is registered and tagged; what "
             "follows from it needs neither. The learning signal it moves: each head (network "
             "output) whose training gradient from a loss differs with it, with the form of that "
             "difference (`parity_tests/difference_form.py`: rescaled, or turned by its cosine and "
             "resized by its norm ratio); * where other first causes move it too.", "",
             "| first cause | checks that follow from it | learning signal it moves |",
             "|---|---|---|"]
    shared = {c for c, n in Counter(c for f in groups.values() for c in f).items() if n > 1}
    lines += [f"| {label(root)} | {', '.join(f'`{c}`' for c in followers)} | "
              f"{learning_signal.text(by_check, [root, *followers], shared)} |"
              for root, followers in sorted(groups.items())]
    review = learning_signal.to_review(by_check, groups)
    if review:
        lines += ["", "### Tags to review", "",
                  "A first cause whose tag and measured learning signal disagree: a [DIFF], "
                  "[MINOR] or [CONFIG] (a change of form, not of what is learned) that turns a "
                  f"head's gradient by more than {learning_signal.TURN:g} degrees, or a "
                  "[CRITDIFF] or [BUG] among the output-level checks that moves no head's "
                  "gradient beyond its tolerance. The tag stays as registered; read both.", ""]
        lines += [f"- {line}" for line in review]
    return lines


def _summary(records: list[Record]) -> str:
    counts = defaultdict(int)
    for record in records:
        counts[record.status] += 1
    differing = defaultdict(int)
    for record in records:
        if record.status in ("differs", "known", "vanished", "absent"):
            differing[record.known.tag if record.known else record.tag] += 1
    by_tag = ", ".join(f"[{tag}] {n}" for tag, n in sorted(differing.items())) or "none"
    close = sorted(((_margin(r), r.check) for r in records
                    if r.status == "agree" and (_margin(r) or 0.0) >= CLOSE), reverse=True)
    closest = ", ".join(f"`{check}` {margin:.2g}" for margin, check in close) or "none"
    return (f"Summary: {len(records)} checks; {counts['agree']} agree, "
            f"{counts['known']} differ as registered, {counts['differs']} differ unregistered, "
            f"{counts['follows']} follow from another difference, "
            f"{counts['absent']} declared absent, "
            f"{counts['vanished']} registered but vanished, {counts['not provided']} not "
            f"provided. Differences by tag: {by_tag}. Agreeing at {CLOSE:g} or more of their "
            f"allowed error (the first to fail on another machine): {closest}.")


def _environment() -> list[str]:
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return [
        f"- Generated {date.today().isoformat()} on {platform.platform()}, "
        f"Python {platform.python_version()}, {platform.processor() or platform.machine()}",
        "- " + ", ".join(versions),
        "- Reference: official DreamerV3, PyPI sdist `dreamer==3.3.1` (sha256-verified), "
        "float32, CPU, deterministic sampling unless a check says otherwise",
    ]


def _sight(sight) -> list[str]:
    """The power table: how far each planted change moves the check that covers it."""
    if not sight:
        return []
    lines = ["", "## What each check can see", "",
             "Each change is planted into the official agent and scored against the unchanged "
             "agent with the check's own tolerance (`parity_tests/test_power.py`): the margin is "
             "the worst error over the allowed error, so a check sees a change above 1x.", "",
             "| check | planted change | margin | required |", "|---|---|---|---|"]
    lines += [f"| `{check}` | {change} | {margin:.3g}x | {required:g}x |"
              for check, change, margin, required in sorted(sight)]
    return lines


def render(records: list[Record], registry: dict[str, Known], target: str,
           sight=()) -> str:
    lines = [
        "# PARITY: findings against the official DreamerV3",
        "",
        f"Target: `{target}`. Generated by `make parity-report`; do not edit by hand.",
        "",
        *_environment(),
        "",
        _summary(records),
        "",
        "Status: *agrees* within the stated tolerance; *differs (registered)* is a known, "
        "accepted difference (see the registry below); anything in bold fails CI. "
        "Margin: the worst error over the allowed error on this machine (above 1 differs; "
        "'-' where the check is a property with no bound); for checks judged against the "
        "official's own spread (`parity_tests/noise_floor.py`) the allowed error includes it. "
        "Form, of a difference: the target's quantity as the official one rescaled "
        "('scale-only x0.031'), shifted ('offset +0.5'), both, or changed in shape (with the "
        "cosine between the two and their norm ratio; `parity_tests/difference_form.py`). "
        "Worst element: where the largest error is, for checks that are not exactly equal; "
        "'explained:' after it names the known variation a difference entirely is (the "
        "official computation with one quantity or form taken from the target), whose tag "
        "the finding takes.",
        "",
        TAG_LEGEND,
    ]
    by_area: dict[str, list[Record]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r.check):
        by_area[record.area].append(record)
    for area, area_records in sorted(by_area.items()):
        lines += ["", f"## {area}", "",
                  "| check | status | tolerance | margin | max abs | max rel | form | worst "
                  "element | tag |",
                  "|---|---|---|---|---|---|---|---|---|"]
        lines += [_row(record) for record in area_records]
    lines += _first_causes(records)
    lines += _sight(sight)
    lines += ["", "## Registry of known differences", "", "| check | tag | reason |",
              "|---|---|---|"]
    lines += [f"| `{k.check}` | [{k.tag}] | {k.reason} |" for k in registry.values()]
    lines += ["", "## Tolerances", "", "| name | rtol | atol | reason |", "|---|---|---|---|"]
    lines += [f"| {name} | {t.rtol:g} | {t.atol:g} | {t.reason} |"
              for name, t in TOLERANCES.items()]
    return "\n".join(lines) + "\n"


# The mutant table is produced by `python -m parity_tests.mutants --write PARITY.md`, a
# different run: regenerating the findings keeps it.
# The sections `python -m parity_tests.mutants` writes: the catalogue against the reimpl
# target, the architecture-free mutants against the reimpl through those pieces alone, and the
# torch catalogue against the PyTorch toy.
MUTANT_SECTIONS = ("mutants", "mutants-architecture-free", "mutants-torch")


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def section_of(text: str, name: str) -> str | None:
    """The section `name` of a report, markers included, or None."""
    start, end = markers(name)
    if start not in text or end not in text:
        return None
    return text[text.index(start):text.index(end) + len(end)]


def with_section(text: str, section: str, name: str) -> str:
    """`text` with its section `name` replaced by `section` (appended if it has none)."""
    old = section_of(text, name)
    if old is not None:
        return text.replace(old, section)
    return text.rstrip("\n") + "\n\n" + section + "\n"
