"""The suite's verdicts in several float environments of one machine: they must not change.

A verdict that depends on the CPU is a false alarm waiting for the next machine. The machines
this suite runs on differ in the order their programs sum and in the instructions XLA:CPU
generates; the same differences can be made on one machine:

- `default`: as the suite runs;
- `one-core`: the process pinned to one core, so XLA's thread pool splits every parallel
  reduction and loop differently (on AMD EPYC this alone changes the first train steps'
  rounding, issue 23);
- `xla-avx`: XLA:CPU generates code for AVX only (`--xla_cpu_max_isa=AVX`: no FMA, no AVX2 or
  AVX-512), so every fused elementwise operation rounds as on an older machine.

Each runs the parity suite in a fresh process and writes its findings; the verdicts (status and
tag of every check) must be identical, and the margins are shown side by side.

    python -m parity_tests.float_environments            # all three, the default suite
    python -m parity_tests.float_environments --only one-core -- -k multistep
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import compile_cache

ROOT = Path(__file__).resolve().parents[1]


def _one_core() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


@dataclass(frozen=True)
class Environment:
    name: str
    what: str
    xla_flags: str = ""
    before: Callable[[], None] | None = None  # run in the child before it starts


ENVIRONMENTS = (
    Environment("default", "as the suite runs"),
    Environment("one-core", "pinned to one core (another split of every parallel reduction)",
                before=_one_core),
    Environment("xla-avx", "XLA code for AVX only (no FMA, AVX2, AVX-512)",
                xla_flags="--xla_cpu_max_isa=AVX"),
)
BY_NAME = {environment.name: environment for environment in ENVIRONMENTS}
DEFAULT_ARGS = ("parity_tests", "-m", "not slow")


def run(environment: Environment, pytest_args: Sequence[str], findings: Path) -> int:
    """One pytest run of the suite in `environment`; its exit code (0 or 1 are verdicts)."""
    env = {**os.environ, **compile_cache.settings()}
    env["XLA_FLAGS"] = " ".join(filter(None, (os.environ.get("XLA_FLAGS", ""),
                                             environment.xla_flags)))
    command = [sys.executable, "-m", "pytest", *pytest_args, "-q", "-p", "no:cacheprovider",
               "--findings-json", str(findings)]
    return subprocess.run(command, cwd=ROOT, env=env, preexec_fn=environment.before,
                          stdout=subprocess.DEVNULL, check=False).returncode


def verdicts(rows: list[dict]) -> dict[str, tuple[str, str]]:
    return {row["check"]: (row["status"], row["tag"]) for row in rows}


def disagreements(results: dict[str, list[dict]]) -> list[str]:
    """One line per check whose verdict is not the same in every environment (a check that
    ran in some environments only counts as 'not run' in the others)."""
    by_environment = {name: verdicts(rows) for name, rows in results.items()}
    checks = sorted(set().union(*by_environment.values()))
    lines = []
    for check in checks:
        seen = {name: found.get(check, ("not run", "-")) for name, found in
                by_environment.items()}
        if len(set(seen.values())) > 1:
            lines.append(f"{check}: " + "; ".join(f"{name} {status} [{tag}]"
                                                  for name, (status, tag) in seen.items()))
    return lines


def closest(results: dict[str, list[dict]], count: int = 8) -> list[str]:
    """The checks nearest their bound in any environment, with each environment's margin."""
    margins: dict[str, dict[str, float]] = {}
    for name, rows in results.items():
        for row in rows:
            if row.get("margin") is not None:
                margins.setdefault(row["check"], {})[name] = row["margin"]
    ranked = sorted(margins.items(), key=lambda item: -max(item[1].values()))[:count]
    return [f"{check}: " + ", ".join(f"{name} {value:.2g}" for name, value in found.items())
            for check, found in ranked]


def _parse(argv: Sequence[str] | None) -> tuple[list[Environment], list[str]]:
    parser = argparse.ArgumentParser(
        prog="python -m parity_tests.float_environments",
        description="Run the parity suite in several float environments of this machine and "
                    "fail if any check's verdict (status and tag) differs between them.",
        epilog="Arguments after -- go to pytest (default: "
               + " ".join(DEFAULT_ARGS) + "). Environments: "
               + "; ".join(f"{e.name}: {e.what}" for e in ENVIRONMENTS))
    parser.add_argument("--only", default=",".join(BY_NAME), metavar="NAMES",
                        help="comma-separated environments to run (default: all); 'default' "
                             "is always run first, as the reference")
    parser.add_argument("--baseline", type=Path, default=None, metavar="FINDINGS.json",
                        help="take the default environment's verdicts from this findings file "
                             "of a run just made with the same selection (pytest "
                             "--findings-json; CI passes make test's) instead of running it")
    parser.add_argument("pytest_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline is not None and not args.baseline.is_file():
        parser.error(f"no findings file at {args.baseline} (write one with pytest "
                     "--findings-json PATH)")
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        parser.error(f"unknown environment {unknown[0]!r} (one of {', '.join(BY_NAME)})")
    chosen = ["default", *[name for name in names if name != "default"]]
    return ([BY_NAME[name] for name in chosen], list(args.pytest_args or DEFAULT_ARGS),
            args.baseline)


def main(argv: Sequence[str] | None = None) -> int:
    environments, pytest_args, baseline = _parse(argv)
    results: dict[str, list[dict]] = {}
    if baseline is not None:
        results["default"] = json.loads(baseline.read_text())
        environments = environments[1:]
        print(f"default: {len(results['default'])} checks from {baseline}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        for number, environment in enumerate(environments, 1):
            elapsed = time.monotonic() - started
            eta = (f", about {elapsed / (number - 1) * (len(environments) - number + 1) / 60:.0f}"
                   " min left" if number > 1 else "")
            print(f"[{number}/{len(environments)}] {environment.name}: {environment.what}"
                  f"{eta}", flush=True)
            findings = Path(folder) / f"{environment.name}.json"
            code = run(environment, pytest_args, findings)
            if code not in (0, 1) or not findings.is_file():
                print(f"the suite did not run in {environment.name} (pytest exit {code}): "
                      f"run `python -m pytest {' '.join(pytest_args)}` to see why")
                return 2
            results[environment.name] = json.loads(findings.read_text())
            print(f"    {len(results[environment.name])} checks, pytest exit {code}, "
                  f"{(time.monotonic() - started) / 60:.1f} min so far", flush=True)
    if baseline is not None and len(results) > 1:
        # The baseline ran a whole suite; compare the checks this selection ran.
        ran = set().union(*(verdicts(rows) for name, rows in results.items()
                            if name != "default"))
        results["default"] = [row for row in results["default"] if row["check"] in ran]
    print("\nNearest their bound (margin: worst error over the allowed error):")
    print("\n".join(f"  {line}" for line in closest(results)) or "  none measured")
    different = disagreements(results)
    if different:
        print(f"\n{len(different)} verdict(s) depend on the float environment:")
        print("\n".join(f"  {line}" for line in different))
        return 1
    print(f"\nSame verdicts in {len(results)} environments for all "
          f"{len(next(iter(results.values())))} checks.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
