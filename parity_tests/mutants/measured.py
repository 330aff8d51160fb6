"""What a mutant's catching checks measured, beside the tag it earned (issue 27): the form of
the difference at the deciding check (parity_tests/difference_form.py: "scale-only x0.031",
"changed: cosine 0.62, norm x1.4"), the learning signal it moves (each head whose loss gradient
differs, with that gradient's form), and where the tag and the measurement disagree
(parity_tests/learning_signal.py: a [DIFF] that turns a head's gradient by more than 30
degrees, an output-level [CRITDIFF] or [BUG] that moves no head's gradient)."""

from __future__ import annotations

import re

from parity_tests import learning_signal
from parity_tests.mutants.diagnosis import Diagnosis

SHOWN_HEADS = 3
# What a deciding check's finding says a setting or a known variation explains (findings.py).
EXPLAINED = re.compile(r"explained: ([^;]+)")


def cell(records: list[dict], diagnosis: Diagnosis) -> str:
    """The table cell: "explained: ...; form: ...; signal: `value_logits` (imagination
    value): ...; review: ..." ("-" where the run measured nothing)."""
    by_check = {r["check"]: r for r in records or []}
    ordered = [*diagnosis.deciding, *(c for c in diagnosis.caught_by
                                      if c not in diagnosis.deciding)]
    form = next((by_check[c]["form"] for c in ordered if by_check.get(c, {}).get("form")), "")
    explained = next((found.group(1) for c in diagnosis.deciding
                      if (found := EXPLAINED.search(by_check.get(c, {}).get("summary", "")))),
                     "")
    heads = [(learning_signal.head(c), by_check[c].get("form") or "differs")
             for c in diagnosis.caught_by if learning_signal.head(c)]
    parts = [f"form: {form}"] if form else []
    if explained:
        parts.insert(0, f"explained: {explained}")
    if heads:
        more = len(heads) - SHOWN_HEADS
        parts.append("signal: " + "; ".join(f"{h}: {f}" for h, f in heads[:SHOWN_HEADS])
                     + (f" (+{more} more heads)" if more > 0 else ""))
    output_level = any(c.startswith("outputs/") for c in diagnosis.deciding)
    review = learning_signal.disagreement(diagnosis.tag, output_level, heads)
    if review:
        parts.append(f"**tag to review**: {review}")
    return "; ".join(parts) or "-"
