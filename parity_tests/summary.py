"""The short table every pytest run of the suite ends with: how many checks ran, how many agree,
differ as registered, differ unregistered, follow from another difference (stages.py), no
longer reproduce a registered difference, or were not provided, by tag; then each unregistered
finding on one line with its worst element and size, and each first cause whose tag its
measured learning signal contradicts (learning_signal.py). The full account is PARITY.md
(--parity-report) and the findings JSON."""

from __future__ import annotations

import math
from collections import Counter

from . import learning_signal
from .findings import TAGS, Record
from .report import first_causes

COLUMNS = (("agree", "agree"), ("known", "differ (registered)"),
           ("differs", "differ (unregistered)"), ("follows", "follow"),
           ("absent", "declared absent"), ("vanished", "vanished"),
           ("not provided", "not provided"))


def _size(record: Record) -> str:
    comparison = record.comparison
    if comparison is None:
        return ""
    if record.tolerance in ("property", "declared"):  # a value or a reason, not a structure
        return ("; ".join(comparison.problems) or comparison.where)[:160]
    if comparison.problems:
        return "structure: " + "; ".join(comparison.problems)[:160]
    margin = f", {comparison.margin:.3g}x allowed" if math.isfinite(comparison.margin) else ""
    form = f"; {comparison.form}" if comparison.form else ""
    return f"max rel {comparison.max_rel:.3g} at {comparison.where}{margin}{form}"


def _table(records: list[Record]) -> list[str]:
    """Counts by tag and status, for the tags where something differs, vanished or was not
    provided (every tag's agreeing checks are in the first line's total)."""
    rows = []
    for tag in TAGS:
        counts = Counter(r.status for r in records if r.tag == tag)
        if any(counts[status] for status, _ in COLUMNS[1:]):
            rows.append([f"[{tag}]"] + [str(counts[status] or "-") for status, _ in COLUMNS])
    if not rows:
        return []
    header = ["tag"] + [label for _, label in COLUMNS]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                             for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
            for row in [header, *rows]]


def render(records: list[Record]) -> list[str]:
    """The summary's lines; none for a run that checked nothing of the suite."""
    if not records:
        return []
    counts = Counter(r.status for r in records)
    lines = [f"{len(records)} checks: " + ", ".join(
        f"{counts[status]} {label}" for status, label in COLUMNS if counts[status])]
    lines += _table(records)
    unregistered = sorted((r for r in records if r.status == "differs"),
                          key=lambda r: (TAGS.index(r.tag), r.check))
    if unregistered:
        lines.append("unregistered findings (each fails the run):")
        lines += [f"  [{r.tag}] {r.check}: {_size(r)}" for r in unregistered]
    review = learning_signal.to_review({r.check: r for r in records},
                                       first_causes(records))
    if review:
        lines.append("tags to review (the tag and the measured learning signal disagree):")
        lines += [f"  {line}" for line in review]
    return lines
