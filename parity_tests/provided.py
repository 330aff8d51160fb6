"""`python -m parity_tests pieces --target package.module:factory`: which pieces a target
provides, which it lacks and which checks each missing piece leaves "not provided", before a
run; attributes that are neither pieces nor declarations are named (a misspelt piece would
otherwise be a silent "not provided")."""

from __future__ import annotations

import argparse
import difflib

from .pieces import PIECES

# What a target may carry besides its pieces: its label in the report and the declarations
# (parity_tests/declarations.py NAMES; not imported here, which would import JAX).
OTHER = ("name", "reductions", "follows_preset", "replay_sequence_start", "replay_capacity",
         "absent", "constant_params", "framework")


def listing(target) -> tuple[list[str], list[str]]:
    """(lines of the listing, attributes that are neither pieces nor declarations)."""
    provided = [p for p in PIECES if getattr(target, p.name, None) is not None]
    missing = [p for p in PIECES if getattr(target, p.name, None) is None]
    lines = [f"provides {len(provided)} of {len(PIECES)} pieces"]
    lines += [f"  + {p.name}" for p in provided]
    if missing:
        lines.append("lacks (each check it feeds is reported as not provided):")
        lines += [f"  - {p.name:<24} {', '.join(p.checks)}" for p in missing]
    known = {p.name for p in PIECES} | set(OTHER)
    strange = sorted(a for a in vars(target) if not a.startswith("_") and a not in known) \
        if hasattr(target, "__dict__") else []
    for attribute in strange:
        near = difflib.get_close_matches(attribute, sorted(known), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        lines.append(f"unknown attribute {attribute!r}: not a piece or a declaration, the "
                     f"suite ignores it{hint}")
    return lines, strange


def main(argv: list[str], prog: str) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                     epilog="Exit status: 1 when the target has attributes "
                                            "the suite ignores, else 0.")
    parser.add_argument("--target", required=True,
                        help="the target, 'package.module:factory' (as pytest's --target)")
    args = parser.parse_args(argv)
    from . import session
    from .target import load_target

    session.prepare()  # the target's module may import JAX
    try:
        target = load_target(args.target)
    except ValueError as error:
        parser.error(str(error))
    except ImportError as error:
        parser.error(f"--target {args.target!r}: cannot import it ({error})")
    lines, strange = listing(target)
    print("\n".join(lines))
    return 1 if strange else 0
