"""`python -m parity_tests.mutants`: run the parity suite against every mutant of the reimpl.

First the unmutated suite runs once as a baseline (always; there is no option to skip it): if
it is red (an unregistered difference, a vanished registered one, a non-zero pytest exit) the
runner stops with exit code 2, since a mutant would be credited with the suite's own failures.
Then each mutant gets its own pytest process (`pytest parity_tests --mutant NAME`, `--jobs` at
a time), so a planted mistake never leaks into the next run; `--timeout` bounds every run, the
baseline included, and a mutant that runs out of time is "timed out" and the runner moves
on. Compiled XLA programs are shared through JAX's persistent compilation cache, so only the
mutated programs compile again. Prints a table (mutant, expected tag, the checks that caught it, the
tag they gave, the verdict); only value differences count as catches (a mutant seen only by
shape, key, NaN or inf mismatches is "crashed/shape only"), and a pytest exit code other than
0 or 1 is a "suite error". Exits 0 when every mutant is "caught" with its expected tag, 1
otherwise; `--write PARITY.md` puts the table into the report.

`--architecture-free` runs the mutants planted in the code the architecture-free pieces run
(losses on network outputs and their call sites, the update rules) against the reimpl wrapped
through those pieces alone (`parity_tests.targets.reimpl_outputs_target`: no piece that loads
the official weights), baseline included, with the whole suite (every check such a target can
take; the weight-level ones are "not provided"), and writes its own table: each must be caught,
with its tag, by checks any implementation can run.

`--torch` runs the same kind of mistakes written in torch and planted in the PyTorch toy's loss
code and call sites (parity_tests/mutants/torch_catalogue.py) against the torch toy target and
its registry (parity_tests/examples/torch_toy_*), on the checks such a target provides, and
writes its own table: each must be caught with the tag its JAX counterpart earns.

`--ci-sample` runs the catalogue's CI sample instead (`Mutant.ci_sample`: a mutant of every
tag in each pass, each sampled one in one pass only, its architecture-free one if it is marked
so): what CI can afford on two cores (`make mutants-ci`); `make mutants` runs everything.

`--select` runs each mutant on the checks that can see it, from a recording the baseline makes:
which checks call each attribute a mutant replaces, with the rules that keep the selection
sound (parity_tests/mutants/calls.py: fixtures, programs reused within a file, attributes that
cannot be watched); the verdicts are those of the whole suite, in less time.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from parity_tests import compile_cache, findings, report
from parity_tests.mutants import calls, measured
from parity_tests.mutants.catalogue import MUTANTS
from parity_tests.mutants.torch_catalogue import EVERY_MUTANT, TORCH_MUTANTS
from parity_tests.mutants.diagnosis import CAUGHT, Diagnosis, baseline_problems, judge
from parity_tests.target import DEFAULT_TARGET
from reimpl import cli

# Tests that do not involve the target (the adapter against itself) cannot see a mutant.
IGNORED = ("parity_tests/test_adapter.py", "parity_tests/test_power.py")
SHOWN_CHECKS = 4
ARCHITECTURE_FREE_TARGET = "parity_tests.targets.reimpl_outputs_target:make_target"
CALLS = "calls.json"  # the baseline's recording, for --select
TORCH_TARGET = "parity_tests.examples.torch_toy_target:make_target"
TORCH_REGISTRY = Path(__file__).resolve().parents[1] / "examples" / "torch_toy_registry.toml"
# The checks a target with the torch toy's pieces can take (the others are "not provided").
TORCH_SELECTION = ("(returns or twohot or latents or outputs or time_index or structure) "
                   "and not adapter")
TORCH_CHECKS = ("--registry", str(TORCH_REGISTRY), "-k", TORCH_SELECTION)


def _environment() -> dict[str, str]:
    return {**os.environ, **compile_cache.settings(), "PARITY_HYPOTHESIS_PROFILE": "mutants"}


@dataclass(frozen=True)
class SuiteRun:
    records: list[dict] | None  # findings JSON rows; None if the run wrote none
    exit_code: int | None  # pytest's; None when the run timed out
    output: str  # the tail of pytest's output, for errors


def run_suite(mutant: str | None, workdir: Path, timeout: float, target: str = DEFAULT_TARGET,
              runner: Callable[..., subprocess.CompletedProcess] = subprocess.run,
              extra: tuple[str, ...] = ()) -> SuiteRun:
    """One pytest process against `mutant` (None: the unmutated baseline): the whole parity
    suite; `extra`: more pytest options (a recording, a selection)."""
    out = workdir / f"{mutant or 'baseline'}.json"
    command = [sys.executable, "-m", "pytest", "parity_tests", "-m", "not slow", "-q",
               "-p", "no:cacheprovider", "--findings-json", str(out), "--target", target,
               *(f"--ignore={path}" for path in IGNORED),
               *(("--mutant", mutant) if mutant else ()), *extra]
    try:
        result = runner(command, env=_environment(), capture_output=True, text=True,
                        timeout=timeout)
    except subprocess.TimeoutExpired:
        return SuiteRun(None, None, f"no result within --timeout {timeout:g} s")
    records = json.loads(out.read_text()) if out.exists() else None
    return SuiteRun(records, result.returncode, (result.stdout + result.stderr)[-3000:])


def _listed(checks: list[str], at_least: int = 0) -> str:
    shown = checks[:max(SHOWN_CHECKS, at_least)]
    more = len(checks) - len(shown)
    return ", ".join(f"`{c}`" for c in shown) + (f" (+{more} more)" if more > 0 else "")


def _row(name: str, verdict: str, diagnosis: Diagnosis,
         records: list[dict] | None = None) -> tuple[str, ...]:
    mutant = EVERY_MUTANT[name]
    deciding = list(diagnosis.deciding)
    caught = deciding + [c for c in diagnosis.caught_by if c not in deciding]
    cells = [_listed(caught, len(deciding))] if caught else []
    if diagnosis.structural:
        cells.append("structure only: " + _listed(list(diagnosis.structural)))
    return (f"`{name}`", mutant.description, f"[{mutant.tag}]", "; ".join(cells) or "-",
            f"[{diagnosis.tag}]" if diagnosis.tag else "-", verdict,
            measured.cell(records or [], diagnosis))


def render(rows: list[tuple[str, ...]]) -> str:
    header = ("mutant", "planted mistake", "expected", "caught by (deciding checks first)",
              "tag given", "verdict", "measured (form; learning signal)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _revision() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True)
    return result.stdout.strip() or "unknown revision"


HEADINGS = {
    "mutants": ("Mutants", "The suite run against planted mistakes (`make mutants`; catalogue "
                "in `parity_tests/mutants/catalogue.py`)"),
    "mutants-architecture-free": (
        "Mutants caught without shared weights",
        "The agent-level mutants against the reimpl wrapped as if it had its own architecture "
        "(`python -m parity_tests.mutants --architecture-free`, run by `make mutants`: target "
        f"`{ARCHITECTURE_FREE_TARGET}`, every piece except those that load the official "
        "weights)"),
    "mutants-torch": (
        "Mutants caught in a PyTorch target",
        "The same mistakes written in torch and planted in the PyTorch toy's loss code and "
        "call sites (`python -m parity_tests.mutants --torch`, run by `make mutants`: target "
        f"`{TORCH_TARGET}` with its registry, catalogue in "
        "`parity_tests/mutants/torch_catalogue.py`)"),
}


def splice(path: Path, table: str, name: str = "mutants") -> None:
    """Put the table into the report's section `name` (one of report.MUTANT_SECTIONS)."""
    heading, intro = HEADINGS[name]
    start, end = report.markers(name)
    section = (f"{start}\n## {heading}\n\n{intro}, {date.today().isoformat()} at "
               f"{_revision()}. A mutant earns the tag of the most specific checks that caught "
               f"it (`parity_tests/mutants/diagnosis.py`).\n\n{table}\n{end}")
    path.write_text(report.with_section(path.read_text() if path.exists() else "", section,
                                        name))


def selected(only: str, architecture_free: bool, ci_sample: bool = False,
             torch: bool = False) -> list[str]:
    """The mutants to run: those named in `only` (comma-separated), else the whole catalogue,
    or with `architecture_free` the mutants marked so (without it, all but those with an
    architecture of their own, which cannot take the official weights); with `ci_sample` only
    the sampled ones, each in one pass (the architecture-free one where it is marked so);
    with `torch` the torch catalogue's."""
    named = [n for n in only.split(",") if n]
    if named:
        return named
    if torch:
        return [name for name, m in TORCH_MUTANTS.items() if m.ci_sample or not ci_sample]
    return [name for name, m in MUTANTS.items()
            if (m.architecture_free if architecture_free else not m.own_architecture)
            and (not ci_sample or (m.ci_sample and m.architecture_free == architecture_free))]


def _baseline(workdir: Path, timeout: float, target: str, record: bool,
              extra: tuple[str, ...] = ()) -> int:
    """Run the unmutated suite (recording which checks call what, if `record`); 0 when it is
    green, else 2 after saying why."""
    began = time.perf_counter()
    run = run_suite(None, workdir, timeout, target,
                    extra=extra + (("--record-calls", str(workdir / CALLS)) if record else ()))
    problems = baseline_problems(run.records, run.exit_code)
    print(f"[baseline] unmutated suite: {'red' if problems else 'green'} "
          f"({time.perf_counter() - began:.0f} s)", flush=True)
    if not problems:
        return 0
    print("the unmutated suite is red: fix it before running mutants\n  "
          + "\n  ".join(problems) + f"\n{run.output}", file=sys.stderr)
    return 2


def _run_mutant(name: str, workdir: Path, timeout: float, target: str,
                record: dict | None, extra: tuple[str, ...] = ()) -> SuiteRun:
    """The suite against one mutant: every check, or with a recording the checks that can see
    it; none can: it survived, with nothing run."""
    checks = None if record is None else calls.selected(record, calls.planted(MUTANTS[name].plant))
    if checks is None:
        return run_suite(name, workdir, timeout, target, extra=extra)
    if not checks:
        return SuiteRun([], 0, "no check calls what this mutant replaces")
    listed = workdir / f"{name}.checks"
    listed.write_text("\n".join(checks) + "\n")
    return run_suite(name, workdir, timeout, target, extra=("--checks-from", str(listed)))


def main(argv: list[str] | None = None) -> int:
    parser = cli.Parser(
        prog="python -m parity_tests.mutants", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", metavar="NAMES",
                        help="comma-separated mutant names (default: the whole catalogue, or "
                             "with --architecture-free the mutants marked architecture_free)")
    parser.add_argument("--architecture-free", action="store_true",
                        help="run against the reimpl through the architecture-free pieces "
                             f"alone ({ARCHITECTURE_FREE_TARGET}) and write that table")
    parser.add_argument("--torch", action="store_true",
                        help="the mistakes of parity_tests/mutants/torch_catalogue.py against "
                             f"the PyTorch toy ({TORCH_TARGET}, its registry) and that table; "
                             "needs torch")
    parser.add_argument("--ci-sample", action="store_true",
                        help="only the catalogue's CI sample (Mutant.ci_sample), each sampled "
                             "mutant in one pass: its architecture-free one if it is marked so")
    parser.add_argument("--write", metavar="REPORT", help="put the table into this PARITY.md")
    parser.add_argument("--timeout", type=float, default=900.0, metavar="SECONDS",
                        help="wall-clock limit of each pytest run, the baseline included "
                             "(default: 900); a mutant past it is 'timed out'")
    parser.add_argument("--select", action="store_true",
                        help="run each mutant on the checks that call what it replaces, "
                             "recorded by the baseline (parity_tests/mutants/calls.py)")
    parser.add_argument("--jobs", type=int, default=2, metavar="N",
                        help="mutant runs at a time (default: 2; each is its own process, and "
                             "much of a run is single-threaded compilation and Python)")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.timeout <= 0:
        parser.error("--jobs must be at least 1 and --timeout positive")
    if args.torch and (args.architecture_free or args.select):
        parser.error("--torch is its own pass on the torch toy's checks: give it without "
                     "--architecture-free and --select")
    if args.torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            parser.error("--torch needs torch: make setup installs it (Makefile TORCH)")
    target = (TORCH_TARGET if args.torch else ARCHITECTURE_FREE_TARGET if args.architecture_free
              else DEFAULT_TARGET)
    section = report.MUTANT_SECTIONS[2 if args.torch else 1 if args.architecture_free else 0]
    extra = TORCH_CHECKS if args.torch else ()
    if args.ci_sample and args.only:
        parser.error("--ci-sample and --only choose the mutants two ways: give one of them")
    names = selected(args.only, args.architecture_free, args.ci_sample, args.torch)
    catalogue = TORCH_MUTANTS if args.torch else MUTANTS
    unknown = sorted(set(names) - set(catalogue))
    if unknown:
        parser.error(f"unknown mutants {unknown}; the catalogue has {', '.join(catalogue)}")
    registered = frozenset(check for check, known in findings.load_registry(
        TORCH_REGISTRY if args.torch else findings.DEFAULT_REGISTRY).items()
        if known.tag != "FIXED")
    failures = 0
    with tempfile.TemporaryDirectory() as workdir:
        if _baseline(Path(workdir), args.timeout, target, args.select, extra):
            return 2
        record = json.loads((Path(workdir) / CALLS).read_text()) if args.select else None

        def timed(name):
            began = time.perf_counter()
            return (_run_mutant(name, Path(workdir), args.timeout, target, record, extra),
                    time.perf_counter() - began)

        by_name = {}
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            futures = {pool.submit(timed, name): name for name in names}
            for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
                name = futures[future]
                run, seconds = future.result()
                verdict, diagnosis = judge(run.records, run.exit_code, catalogue[name].tag,
                                           registered)
                by_name[name] = _row(name, verdict, diagnosis, run.records)
                failures += verdict != CAUGHT
                print(f"[{done}/{len(names)}] {name}: {verdict} {by_name[name][4]} "
                      f"({seconds:.0f} s)", flush=True)
                if verdict in ("suite error", "timed out"):
                    print(run.output, file=sys.stderr, flush=True)
        rows = [by_name[name] for name in names]
    table = render(rows)
    print(table)
    if args.write:
        splice(Path(args.write), table, section)
        print(f"mutant table written to {args.write}")
    if failures:
        print(f"{failures} mutant(s) not caught with their expected tag (survived, wrong tag, "
              f"crashed/shape only, suite error or timed out)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
