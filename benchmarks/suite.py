"""`python -m benchmarks.suite`: how long the suite takes, the way its users run it.

Times, each as its own process from this checkout: the headline check
(`pytest parity_tests -k returns`), the default suite (`pytest -m "not slow"`, README's test
command) with an empty compilation cache and then again with the cache the first run filled
(parity_tests/compile_cache.py), and with `--mutants` the mutant runner as `make mutants` runs
it (both catalogues, the main one with `--select`). The cache used is a fresh folder of its
own, so the figures do not depend on what ran here before; the official sources are those
already fetched.
Writes the table into BENCHMARKS.md as a section of its own (`python -m benchmarks` keeps it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from reimpl import cli

from . import report
from .timing import progress

SECTION = "suite"
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]


@dataclass(frozen=True)
class Step:
    name: str
    command: list[str]
    cache: str  # "empty" or "warm": the compilation cache it starts with


def steps(with_mutants: bool) -> list[Step]:
    found = [Step("headline check: pytest parity_tests -k returns",
                  [*PYTEST, "parity_tests", "-k", "returns"], "empty"),
             Step("default suite: pytest -m 'not slow'", [*PYTEST, "-m", "not slow"], "empty"),
             Step("default suite again: pytest -m 'not slow'", [*PYTEST, "-m", "not slow"],
                  "warm")]
    if with_mutants:
        found += [Step("mutants: python -m parity_tests.mutants --select",
                       [sys.executable, "-m", "parity_tests.mutants", "--select"], "warm"),
                  Step("mutants without shared weights: --architecture-free",
                       [sys.executable, "-m", "parity_tests.mutants", "--architecture-free",
                        "--select"],
                       "warm")]
    return found


def _run(step: Step, cache_dir: str) -> tuple[float, int, str]:
    env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": cache_dir}
    start = time.perf_counter()
    done = subprocess.run(step.command, cwd=report.ROOT, env=env, capture_output=True, text=True)
    lines = (done.stdout + done.stderr).strip().splitlines()
    return time.perf_counter() - start, done.returncode, lines[-1] if lines else ""


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s" if seconds >= 60 else f"{seconds:.1f} s"


def run(with_mutants: bool) -> report.Table:
    table = report.Table("How long the suite takes", ["what", "compilation cache", "wall time",
                                                      "exit", "last line"])
    with tempfile.TemporaryDirectory() as cache_dir:
        for step in steps(with_mutants):
            if step.cache == "empty":
                for entry in Path(cache_dir).iterdir():
                    entry.unlink()
            progress(f"suite: {step.name} ({step.cache} cache)")
            seconds, code, last = _run(step, cache_dir)
            progress(f"suite: {step.name}: {_minutes(seconds)}, exit {code}")
            table.rows.append([step.name, step.cache, _minutes(seconds), str(code),
                               last.strip("= ")])
    table.notes.append("Each a fresh process from this checkout, one after the other; "
                       "'empty' starts from an empty compilation cache, 'warm' from the one "
                       "the runs before it filled.")
    return table


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = cli.Parser(prog="python -m benchmarks.suite", description=__doc__,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mutants", action="store_true",
                        help="also time the mutant runner (both catalogues; tens of minutes)")
    parser.add_argument("--out", type=Path, default=report.DEFAULT_OUT,
                        help="the report to put the section in (default: BENCHMARKS.md)")
    args = parser.parse_args(argv)
    return report.publish("benchmarks.suite", argv, SECTION, args.out,
                          lambda: run(args.mutants))


if __name__ == "__main__":
    sys.exit(main())
