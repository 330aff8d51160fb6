"""`python -m benchmarks`: every benchmark, a table per benchmark on stdout, and the same
tables with the machine description in BENCHMARKS.md (or --out).

Presets run one at a time (train step, then policy step, sharing the official agent), then
the loop; compiled programs are dropped between presets so memory stays that of one size.
"""

from __future__ import annotations

import argparse
import gc
import os
import shlex
import sys
from pathlib import Path

import jax

from reimpl import cli
from reimpl.config import PRESETS

from . import flops, loop, policy_step, programs, report, train_step
from .profile import SECTION as PROFILE_SECTION
from .suite import SECTION as SUITE_SECTION
from .timing import progress

BENCHMARKS = ("train_step", "policy_step", "loop", "flops")
FULL = {"presets": "debug,size1m,size12m", "loop_presets": "cpu,size1m", "repeats": 5,
        "batch": (16, 64), "envs": (1, 16, 64)}
QUICK = {"presets": "debug", "loop_presets": "debug", "repeats": 2, "batch": (4, 10),
         "envs": (1, 4)}


def _names(parser: argparse.ArgumentParser, text: str, allowed, option: str) -> list[str]:
    names = [n for n in text.split(",") if n]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        parser.error(f"{option}: unknown {', '.join(unknown)}; choose from {', '.join(allowed)}")
    return names


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = cli.Parser(prog="python -m benchmarks", description=(
        "Time the reimpl against the official DreamerV3 (train step, policy step, FLOPs) and "
        "the compiled Craftax loop; print tables and write them to BENCHMARKS.md."))
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help=f"comma-separated subset of {','.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--presets", help=f"train/policy step and FLOPs presets "
                        f"(default {FULL['presets']}; --quick: {QUICK['presets']})")
    parser.add_argument("--loop-presets", help=f"Craftax loop presets (default "
                        f"{FULL['loop_presets']}; --quick: {QUICK['loop_presets']})")
    parser.add_argument("--repeats", type=int, help=f"timed calls per figure (default "
                        f"{FULL['repeats']}; --quick: {QUICK['repeats']}; policy steps x"
                        f"{policy_step.CALLS_PER_REPEAT})")
    parser.add_argument("--quick", action="store_true", help=(
        f"smoke test: debug preset, batch {QUICK['batch'][0]}x{QUICK['batch'][1]}, "
        f"{QUICK['repeats']} repeats, a few minutes"))
    parser.add_argument("--out", type=Path, default=report.DEFAULT_OUT,
                        help="markdown report path (default: BENCHMARKS.md in the repository)")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    defaults = QUICK if args.quick else FULL
    args.only = _names(parser, args.only, BENCHMARKS, "--only")
    args.presets = _names(parser, args.presets or defaults["presets"], PRESETS, "--presets")
    args.loop_presets = _names(parser, args.loop_presets or defaults["loop_presets"], PRESETS,
                               "--loop-presets")
    args.repeats = args.repeats or defaults["repeats"]
    args.batch_size, args.batch_length = defaults["batch"]
    args.envs = list(defaults["envs"])
    return args


def _official_missing() -> str | None:
    """Why the official agent cannot run here, or None; asked once, not per preset."""
    from reference_adapter import ReferenceUnavailable, loader

    try:
        loader.load()
    except ReferenceUnavailable as error:
        return str(error)
    return None


def _forget_compiled() -> None:
    """Drop the compiled programs and the official agent of a finished size."""
    programs.official_agent.cache_clear()
    jax.clear_caches()
    gc.collect()


def run(args: argparse.Namespace) -> tuple[list[report.Table], list[str]]:
    steps, policies, loops = [], [], []
    wanted = set(args.only)
    missing = _official_missing() if wanted & {"train_step", "policy_step", "flops"} else None
    if missing:
        progress(f"official agent unavailable, timing the reimpl alone: {missing}")
    for name in args.presets:
        if wanted & {"train_step", "flops"}:
            steps += train_step.run_preset(name, args.batch_size, args.batch_length,
                                           args.repeats, missing is None, "flops" in wanted)
        if "policy_step" in wanted:
            policies += policy_step.run_preset(name, args.batch_size, args.batch_length,
                                               args.envs, args.repeats, missing is None)
        _forget_compiled()
    if "loop" in wanted:
        for name in args.loop_presets:
            loops.append(loop.run_preset(name, args.repeats))
            _forget_compiled()
    tables = []
    if "train_step" in wanted:
        tables.append(train_step.table(steps, args.batch_size, args.batch_length,
                                       args.repeats, missing))
    if "policy_step" in wanted:
        tables.append(policy_step.table(policies, args.repeats, missing))
    if "loop" in wanted:
        tables.append(loop.table(loops, args.repeats))
    if "flops" in wanted:
        on_cpu = jax.devices()[0].platform == "cpu"
        tables.append(flops.table(steps, flops.cpu_peak() if on_cpu else None, on_cpu))
    notes = [f"Quick smoke run (--quick): tiny sizes and {args.repeats} repeats, not figures "
             f"to quote; regenerate with `python -m benchmarks`."] if args.quick else []
    return tables, notes


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parse(argv)
    command = shlex.join(["python", "-m", "benchmarks", *argv])
    header = report.machine()
    progress(f"{command} on {header['CPU']}, {header['cores']} cores, {header['device']}")
    tables, notes = run(args)
    for table in tables:
        print("\n" + table.text(), flush=True)
    text = report.markdown(command, header, tables, notes,
                           "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    # The profile and the suite timings (benchmarks.profile, benchmarks.suite) are runs of
    # their own: keep their sections.
    old = args.out.read_text() if args.out.exists() else ""
    for name in (PROFILE_SECTION, SUITE_SECTION):
        kept = report.section(old, name)
        text = f"{text.rstrip()}\n\n{kept}\n" if kept else text
    args.out.write_text(text)
    progress(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
