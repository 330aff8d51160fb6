"""`python -m parity_tests COMMAND`: the suite's commands besides pytest itself (COMMANDS;
`python -m parity_tests` lists them, `COMMAND --help` gives each one's options)."""

from __future__ import annotations

import sys

COMMANDS = {
    "init": ("parity_tests.scaffold", "write a target module of piece stubs and its registry"),
    "pieces": ("parity_tests.provided", "which pieces a target provides and which it lacks"),
    "diff": ("parity_tests.findings_diff",
             "what changed between two runs' findings, as markdown (a gate)"),
    "history": ("parity_tests.history",
                "which commit of your code brought or removed each finding"),
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        lines = [f"  {name:<8} {what}" for name, (_, what) in COMMANDS.items()]
        print("usage: python -m parity_tests COMMAND [ARGS]  (COMMAND --help for its options)\n"
              "\ncommands:\n" + "\n".join(lines) +
              "\n\nThe checks themselves run under pytest: pytest --pyargs parity_tests "
              "--target package.module:factory")
        if argv and argv[0] not in ("-h", "--help"):
            print(f"\nerror: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        return 0 if argv else 2
    import importlib

    module = importlib.import_module(COMMANDS[argv[0]][0])
    return module.main(argv[1:], prog=f"python -m parity_tests {argv[0]}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
