"""`python -m parity_tests.mutants`: run the parity suite against every mutant of the reimpl.

Each mutant gets its own pytest process (`pytest parity_tests --mutant NAME`), so a planted
mistake never leaks into the next run. Compiled XLA programs are shared through JAX's
persistent compilation cache, so only the mutated programs compile again. Prints a table
(mutant, expected tag, the checks that caught it, the tag they gave) and exits 1 if any
mutant survives or earns the wrong tag; `--write PARITY.md` puts the table into the report.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from parity_tests import findings, report
from parity_tests.mutants.catalogue import MUTANTS
from parity_tests.mutants.diagnosis import Diagnosis, diagnose

# Tests that do not involve the target (the adapter against itself) cannot see a mutant.
IGNORED = ("parity_tests/test_adapter.py",)
SHOWN_CHECKS = 4


def _environment() -> dict[str, str]:
    cache = Path(os.environ.get("DREAMER_PARITY_CACHE", Path.home() / ".cache/dreamer-parity"))
    return {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(cache / "xla"),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1",
            "PARITY_HYPOTHESIS_PROFILE": "mutants"}


def run_suite(mutant: str, workdir: Path) -> list[dict]:
    out = workdir / f"{mutant}.json"
    command = [sys.executable, "-m", "pytest", "parity_tests", "-m", "not slow", "-q",
               "-p", "no:cacheprovider", "--mutant", mutant, "--findings-json", str(out),
               *(f"--ignore={path}" for path in IGNORED)]
    result = subprocess.run(command, env=_environment(), capture_output=True, text=True)
    if not out.exists():
        raise RuntimeError(f"the suite did not run for mutant {mutant!r} (exit "
                           f"{result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return json.loads(out.read_text())


def _row(name: str, diagnosis: Diagnosis) -> tuple[str, ...]:
    mutant = MUTANTS[name]
    shown = list(diagnosis.deciding)
    shown += [c for c in diagnosis.caught_by if c not in shown][:max(0, SHOWN_CHECKS - len(shown))]
    more = len(diagnosis.caught_by) - len(shown)
    caught = ", ".join(f"`{c}`" for c in shown) + (f" (+{more} more)" if more > 0 else "")
    verdict = ("survived" if diagnosis.tag is None else
               "caught" if diagnosis.tag == mutant.tag else "wrong tag")
    return (f"`{name}`", mutant.description, f"[{mutant.tag}]", caught or "-",
            f"[{diagnosis.tag}]" if diagnosis.tag else "-", verdict)


def render(rows: list[tuple[str, ...]]) -> str:
    header = ("mutant", "planted mistake", "expected", "caught by (deciding checks first)",
              "tag given", "verdict")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _revision() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True)
    return result.stdout.strip() or "unknown revision"


def splice(path: Path, table: str) -> None:
    """Put the table into the report's mutant section."""
    section = (f"{report.SECTION_START}\n## Mutants\n\nThe suite run against planted "
               f"mistakes (`make mutants`; catalogue in `parity_tests/mutants/catalogue.py`), "
               f"{date.today().isoformat()} at {_revision()}. A mutant earns the tag of the "
               f"most specific checks that caught it (`parity_tests/mutants/diagnosis.py`)."
               f"\n\n{table}\n{report.SECTION_END}")
    path.write_text(report.with_section(path.read_text() if path.exists() else "", section))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated mutant names")
    parser.add_argument("--write", metavar="REPORT", help="put the table into this PARITY.md")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(MUTANTS)
    unknown = sorted(set(names) - set(MUTANTS))
    if unknown:
        parser.error(f"unknown mutants {unknown}; the catalogue has {', '.join(MUTANTS)}")
    registered = frozenset(check for check, known in findings.load_registry(
        findings.DEFAULT_REGISTRY).items() if known.tag != "FIXED")
    rows, failures = [], 0
    with tempfile.TemporaryDirectory() as workdir:
        for index, name in enumerate(names, 1):
            began = time.perf_counter()
            diagnosis = diagnose(run_suite(name, Path(workdir)), registered)
            row = _row(name, diagnosis)
            failures += row[-1] != "caught"
            rows.append(row)
            print(f"[{index}/{len(names)}] {name}: {row[-1]} {row[4]} "
                  f"({time.perf_counter() - began:.0f} s)", flush=True)
    table = render(rows)
    print(table)
    if args.write:
        splice(Path(args.write), table)
        print(f"mutant table written to {args.write}")
    if failures:
        print(f"{failures} mutant(s) survived or earned the wrong tag", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
