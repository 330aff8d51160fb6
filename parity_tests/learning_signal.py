"""The learning signal a first cause moves (issue 27: does a departure matter?), read from the
report's records: each head (network output) whose training gradient from a loss differs with
it, `outputs/<part>/grad/<loss>/<output>` (or `gradient_flow/...` where the official passes
none), with the form of that difference (parity_tests/difference_form.py: rescaled, turned by
an angle and resized, or cut to zero). A tag says what kind of mistake a check finds; the signal
says how much it changes what the networks are trained towards, so a first cause whose tag and
signal disagree is listed for review: a change of form ([DIFF], [MINOR], [CONFIG]) that turns a
head's gradient by more than TURN degrees, or an output-level [CRITDIFF] or [BUG] that moves no
head's gradient beyond its tolerance.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from parity_tests.mutants.diagnosis import SEVERITY

TURN = 30.0  # degrees: a gradient turned further than this changes what the head learns
FORM_TAGS = ("DIFF", "MINOR", "CONFIG")
SEVERE_TAGS = ("BUG", "CRITDIFF")
_GRADIENT = re.compile(r"^(?:outputs/(\w+)/grad|gradient_flow/(\w+))/(\w+)/(\w+)$")
_COSINE = re.compile(r"cosine (-?[\d.e+-]+)")
_PARTS = {"imag": "imagination", "repl": "replay", "world_model": "world model"}


def head(check: str) -> str | None:
    """"`output` (part loss)" for a loss-gradient check, None for any other check."""
    match = _GRADIENT.match(check)
    if not match:
        return None
    part, loss, output = match.group(1) or match.group(2), match.group(3), match.group(4)
    return f"`{output}` ({_PARTS.get(part, part)} {loss})"


def moved(by_check: Mapping, checks) -> list[tuple[str, str, str]]:
    """[(check, "`output` (part loss)", form)] of the differing loss gradients among `checks`."""
    found = []
    for check in checks:
        record = by_check.get(check)
        if head(check) is None or record is None or record.comparison is None or (
                record.comparison.ok):
            continue
        found.append((check, head(check), record.comparison.form or "differs"))
    return found


def text(by_check: Mapping, checks, shared: set[str]) -> str:
    """The report cell: "`policy_logits` (imagination policy)*: changed: cosine 0.98, ..."."""
    return "; ".join(f"{head}{'*' if check in shared else ''}: {form}"
                     for check, head, form in moved(by_check, checks)) or "-"


def angle(form: str) -> float | None:
    """Degrees a gradient turned, from its form; None where the form does not say."""
    if form.startswith("zero"):
        return 90.0  # cut: nothing of the official direction is left
    if form == "sign-flipped":
        return 180.0
    if form.startswith("scale-only x"):
        return 0.0 if not form.startswith("scale-only x-") else 180.0
    cosine = _COSINE.search(form)
    if cosine is None:
        return None
    return math.degrees(math.acos(max(-1.0, min(1.0, float(cosine.group(1))))))


def _tag(root: str, by_check: Mapping) -> str | None:
    """A first cause's tag: its registered tag (or its own), or for a building block the most
    severe tag among its own differing checks."""
    record = by_check.get(root)
    if record is not None:
        return record.known.tag if record.known else record.tag
    tags = [(r.known.tag if r.known else r.tag) for check, r in by_check.items()
            if check.startswith(root + "/") and r.status in ("known", "differs")]
    return min(tags, key=SEVERITY.index) if tags else None


def disagreement(tag: str | None, output_level: bool, heads: list[tuple[str, str]]) -> str:
    """Why a tag and the signal measured with it disagree ("" where they do not): heads
    [(head, form)] of the differing loss gradients; `output_level`: the finding is an
    output-level check's."""
    if tag in FORM_TAGS:
        turned = [(h, f, angle(f)) for h, f in heads]
        turned = [(h, f, a) for h, f, a in turned if a is not None and a > TURN]
        if turned:
            return "turns " + "; ".join(f"{h} by {a:.0f} degrees ({f})" for h, f, a in turned)
    elif tag in SEVERE_TAGS and output_level and not heads:
        return "moves no head's gradient beyond its tolerance"
    return ""


def to_review(by_check: Mapping, groups: Mapping[str, list[str]]) -> list[str]:
    """One line per first cause whose tag and measured signal disagree."""
    lines = []
    for root, followers in sorted(groups.items()):
        tag = _tag(root, by_check)
        heads = [(h, f) for _, h, f in moved(by_check, [root, *followers])]
        why = disagreement(tag, root.startswith("outputs/"), heads)
        if why and tag in SEVERE_TAGS:
            why += (f" (what follows from it: "
                    f"{', '.join(f'`{c}`' for c in followers)})")
        if why:
            lines.append(f"`{root}` [{tag}] {why}")
    return lines
