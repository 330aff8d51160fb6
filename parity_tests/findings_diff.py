"""What changed between two runs of the suite, as markdown for a pull-request comment.

Both inputs are findings JSON files (`pytest ... --findings-json PATH`): one object per check
with its tag, status and worst relative error. A finding is a check that differs: registered
(`known`), not (`differs`), following from another difference (`follows`), or declared
absent by the target (`absent`). Between the
base and the head run a finding can appear, disappear (the check agrees, or was not run or
not provided), change its tag, change status (registered, unregistered, following), or change
its size by more than a factor (default 2: float32 rounding moves a difference's size by far
less, measured in parity_tests/float_environments.py as margins within a few per cent across
environments).

    python -m parity_tests diff BASE.json HEAD.json [--output COMMENT.md]

Exits 1 when the head has an unregistered finding the base did not have (the gate), else 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FINDING = ("differs", "known", "follows", "absent")


class FindingsFileError(ValueError):
    """A findings file that is missing or not what the suite writes; the message says which."""


def load(path: Path) -> dict[str, dict]:
    if not path.is_file():
        raise FindingsFileError(f"no findings file at {path} (write one with pytest "
                                "--findings-json PATH)")
    try:
        rows = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise FindingsFileError(f"{path} is not JSON: {error}") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and {"check", "tag", "status"}
                                              <= r.keys() for r in rows):
        raise FindingsFileError(f"{path} is not a findings file (a list of objects with check, "
                                "tag and status, as pytest --findings-json writes)")
    return {row["check"]: row for row in rows}


@dataclass(frozen=True)
class Change:
    kind: str  # appeared | disappeared | tag | registration | size
    check: str
    tag: str  # the head's tag (the base's for a finding that disappeared)
    before: str
    after: str

    @property
    def unregistered_new(self) -> bool:
        """The gate's question: does the head fail where the base did not?"""
        return self.after.startswith("differs") and not self.before.startswith("differs")


def _state(row: dict | None) -> str:
    if row is None:
        return "not run"
    size = row.get("max_rel")
    if row["status"] in FINDING and isinstance(size, (int, float)):
        return f"{row['status']} (max rel {size:.3g})"
    return row["status"]


def changes(base: dict[str, dict], head: dict[str, dict], factor: float = 2.0) -> list[Change]:
    found = []
    for check in sorted(base.keys() | head.keys()):
        old, new = base.get(check), head.get(check)
        was = old is not None and old["status"] in FINDING
        now = new is not None and new["status"] in FINDING
        before, after = _state(old), _state(new)
        if now and not was:
            found.append(Change("appeared", check, new["tag"], before, after))
        elif was and not now:
            found.append(Change("disappeared", check, old["tag"], before, after))
        elif was and now:
            if old["tag"] != new["tag"]:
                found.append(Change("tag", check, new["tag"], f"[{old['tag']}] {before}",
                                    f"[{new['tag']}] {after}"))
            elif old["status"] != new["status"]:
                found.append(Change("registration", check, new["tag"], before, after))
            elif _grew(old.get("max_rel"), new.get("max_rel"), factor):
                found.append(Change("size", check, new["tag"], before, after))
    return found


def _grew(old, new, factor: float) -> bool:
    if not isinstance(old, (int, float)) or not isinstance(new, (int, float)):
        return False
    if old == 0 or new == 0:
        return old != new
    return max(old / new, new / old) > factor


TITLES = {"appeared": "Findings that appeared", "disappeared": "Findings that disappeared",
          "tag": "Findings whose tag changed",
          "registration": "Findings registered, unregistered or following another",
          "size": "Findings whose size changed"}


def markdown(found: list[Change], base_name: str, head_name: str, checks: int) -> str:
    new = [c for c in found if c.unregistered_new]
    lines = ["### DreamerV3 parity: " + (
        f"{len(new)} new unregistered finding{'s' * (len(new) != 1)}" if new
        else "no new unregistered finding"),
        "", f"{checks} checks compared, `{base_name}` -> `{head_name}`: "
        + (", ".join(f"{sum(c.kind == k for c in found)} {k}" for k in TITLES
                     if any(c.kind == k for c in found)) or "nothing changed") + "."]
    for kind, title in TITLES.items():
        rows = [c for c in found if c.kind == kind]
        if rows:
            lines += ["", f"#### {title}", "", "| check | tag | base | head |",
                      "|---|---|---|---|"]
            lines += [f"| `{c.check}` | [{c.tag}] | {c.before} | {c.after} |" for c in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str], prog: str) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                     epilog="Exit status: 1 when the head has an unregistered "
                                            "finding the base did not have, else 0.")
    parser.add_argument("base", type=Path, help="findings JSON of the base commit's run")
    parser.add_argument("head", type=Path, help="findings JSON of the head commit's run")
    parser.add_argument("--factor", type=float, default=2.0,
                        help="a finding whose max rel moves by more than this factor is "
                             "reported as changed in size (default: 2)")
    parser.add_argument("--output", type=Path, default=None,
                        help="write the markdown to this file as well as to the terminal")
    args = parser.parse_args(argv)
    if args.factor <= 1:
        parser.error(f"--factor must be above 1, not {args.factor}")
    try:
        base, head = load(args.base), load(args.head)
    except FindingsFileError as error:
        parser.error(str(error))
    found = changes(base, head, args.factor)
    text = markdown(found, args.base.name, args.head.name, len(base.keys() | head.keys()))
    print(text, end="")
    if args.output:
        args.output.write_text(text)
    return 1 if any(c.unregistered_new for c in found) else 0
