"""`python -m parity_tests init PATH`: a target module to fill in, and its registry.

The module has every piece of docs/TARGETS.md as a stub (its signature, what it returns, the
checks it feeds, its official counterpart and the section of the docs) and a `PROVIDE` tuple
naming the stubs you have filled in: only those reach the suite, so the module runs at once
(every piece "not provided") and each piece joins when it is ready. Beside it a registry of
known differences, empty, with its format. Nothing is overwritten.

    python -m parity_tests init mypkg/parity.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .pieces import DOCS, PIECES, anchor

HEADER = '''"""The parity suite's target for {label}: written by `python -m parity_tests init`.

Fill in a stub below by calling your code from it, in the official conventions
({docs}, "Conventions"), and add its name to PROVIDE. Only the pieces named there
reach the suite; every other check is reported as not provided. Run:

    {command}
"""

from __future__ import annotations

from types import SimpleNamespace

# The pieces below that call your code, e.g. ("lambda_return", "twohot_bins").
PROVIDE: tuple[str, ...] = ()


def make_target():
    pieces = {{name: globals()[name] for name in PROVIDE}}
    # Declarations ({docs}, "Declarations") go here too where they apply, e.g.
    # reductions={{"twohot_loss": "mean"}}, follows_preset="size12m",
    # replay_sequence_start="initial_state", replay_capacity=100_000.
    return SimpleNamespace(name={label!r}, **pieces)
'''

STUB = '''

def {name}({args}):
    """-> {result}

    Checks: {checks}
    Official: {official}
    Docs: {docs}{anchor}
    """
    raise NotImplementedError("{name}: call your code here, then add it to PROVIDE")
'''

REGISTRY = '''# Known, accepted differences of {label} from the official DreamerV3.
#
# One [[difference]] per check id (as the suite prints it). A check listed here may disagree
# without failing the run; if it stops disagreeing, the run fails until its tag is "FIXED".
#
# [[difference]]
# check = "area/quantity/variant"
# tag = "DIFF"          # BUG, CRITDIFF, DIFF, MINOR, CONFIG, TOCHECK or FIXED
# reason = "why the difference is accepted, with the file or function of yours it concerns"
'''


def module_name(path: Path) -> str:
    """The dotted module a path names, relative to the folder the command runs in."""
    relative = path.resolve().relative_to(Path.cwd().resolve()).with_suffix("")
    return ".".join(relative.parts)


def command(module: str, registry: Path) -> str:
    return (f"python -m pytest --pyargs parity_tests --target {module}:make_target --registry "
            f"{registry} --parity-report PARITY.md")


def render(module: str, registry: Path) -> str:
    label = module.split(".")[0]
    text = HEADER.format(label=label, docs=DOCS, command=command(module, registry))
    section = None
    for piece in PIECES:
        if piece.section != section:
            section = piece.section
            text += f"\n\n# {'-' * 20} {section} ({DOCS}{anchor(section)})\n"
        text += STUB.format(name=piece.name, args=piece.args, result=piece.result,
                            checks=", ".join(piece.checks), official=piece.official,
                            docs=DOCS, anchor=anchor(section))
    return text


def main(argv: list[str], prog: str) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path,
                        help="the target module to write (a .py file inside the folder you "
                             "run pytest from, e.g. mypkg/parity.py)")
    parser.add_argument("--registry", type=Path, default=None,
                        help="the registry file to write beside it (default: "
                             "parity_registry.toml in the module's folder)")
    args = parser.parse_args(argv)
    registry = args.registry or args.path.with_name("parity_registry.toml")
    if args.path.suffix != ".py":
        parser.error(f"{args.path} is not a .py file")
    try:
        module = module_name(args.path)
    except ValueError:
        parser.error(f"{args.path} is outside the current folder: run init from the folder "
                     "you run pytest from, so the module can be imported by its name")
    for existing in (p for p in (args.path, registry) if p.exists()):
        parser.error(f"{existing} exists; nothing was written (move it, or name another path)")
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(render(module, registry))
    registry.write_text(REGISTRY.format(label=module.split(".")[0]))
    print(f"wrote {args.path} ({len(PIECES)} piece stubs, none provided yet) and {registry}\n"
          f"fill in a stub, add its name to PROVIDE, then run:\n  {command(module, registry)}\n"
          f"see what it provides: python -m parity_tests pieces --target {module}:make_target")
    return 0
