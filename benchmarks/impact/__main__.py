"""`python -m benchmarks.impact`: train the reimpl with each of some catalogue mutants planted
and without, over the same seeds, in reimpl.train's loop with benchmarks.learning's settings;
evaluate each run's final checkpoint on the same episodes; write IMPACT.md (report.py).

Runs go to LOGDIR/<mutant or unmutated>/seed<k> (a reimpl.train logdir each, its RUN.json and
evaluation.json), the options to LOGDIR/settings.json. Each run trains in a process of its own
(benchmarks.impact.run_one: a planted mutant stays for its process). The same command
continues where it stopped: finished runs are kept, a stopped one resumes from its checkpoint,
a larger --env-steps extends every run, more --mutants add runs; the report is rewritten after
every run, so a stopped comparison still reports what it has.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from parity_tests.mutants.catalogue import MUTANTS
from reimpl import cli
from reimpl.config import PRESETS
from reimpl.train import envs as envs_lib
from reimpl.train import learner as learner_lib

from .. import report as bench_report
from . import report, run_one, signals

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "IMPACT.md"
# Mistakes whose effect on learning is in question (issue 27), none of them image-only (the
# default env is symbolic): unweighted actor-critic, KL mean, no straight-through, slow-critic
# targets, centred advantages, an actor-critic loss reaching the world model.
DEFAULT_MUTANTS = ("unweighted-actor-critic", "kl-mean", "no-straight-through",
                   "slow-critic-targets", "advantages-centred", "actor-critic-trains-world-model")
# Options a continued comparison may change; every other one must be as it was started.
MAY_CHANGE = ("mutants", "env_steps", "out")


def _say(message: str) -> None:
    print(f"[impact] {message}", flush=True)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = cli.Parser(prog="python -m benchmarks.impact", description=(
        "Train the reimpl with one catalogue mutant planted at a time and without it, over the "
        "same seeds, in reimpl.train's loop; write IMPACT.md: each early signal and the "
        "evaluated return as a difference from the unmutated runs with its standard error. Run "
        "it again to continue."), formatter_class=cli.HelpFormatter)
    add = parser.add_argument
    add("--mutants", default=",".join(DEFAULT_MUTANTS), help="comma-separated catalogue "
        "mutants (python -m parity_tests.mutants --list, or --list here)")
    add("--list", action="store_true", help="print the catalogue's mutants and exit")
    add("--seeds", default="0,1", help="comma-separated training seeds, the same for every arm")
    add("--env-steps", type=int, default=8192, help="env steps per run; a larger value later "
        "extends every run")
    add("--signal-every", type=int, default=2048, help="env steps between the budgets at which "
        "the signals are read (each the mean over the window before its budget)")
    add("--env", default="Craftax-Classic-Symbolic-v1", choices=envs_lib.ENV_NAMES,
        help="the Craftax environment")
    add("--preset", default="cpu", choices=PRESETS, help="agent preset (reimpl/config.py)")
    add("--num-envs", type=int, default=8, help="environments stepped in lock-step")
    add("--steps-per-collect", type=int, default=8, help="env steps per env between update "
        "phases")
    add("--train-ratio", type=float, default=32.0, help="replayed steps per env step")
    add("--replay-capacity", type=int, default=8192, help="replay steps kept per env")
    add("--episodes", type=int, default=64, help="evaluation episodes of each final checkpoint")
    add("--eval-envs", type=int, default=8, help="environments of an evaluation")
    add("--eval-seed", type=int, default=0, help="seed of the evaluation episodes (the same for "
        "every run)")
    add("--logdir", type=Path, default=Path("runs/impact"), help="where the runs go")
    add("--out", type=Path, default=DEFAULT_OUT, help="the report")
    args = parser.parse_args(argv)
    if args.list:
        return args
    args.mutants = [m for m in args.mutants.split(",") if m]
    unknown = [m for m in args.mutants if m not in MUTANTS]
    if unknown or not args.mutants:
        parser.error(f"--mutants: unknown {', '.join(unknown) or 'none given'}; see "
                     "python -m benchmarks.impact --list")
    try:
        args.seeds = [int(s) for s in args.seeds.split(",") if s]
    except ValueError:
        parser.error(f"--seeds: {args.seeds!r} is not comma-separated integers")
    if not args.seeds or len(set(args.seeds)) != len(args.seeds):
        parser.error("--seeds: name at least one seed, each once")
    for name in ("env_steps", "signal_every", "num_envs", "steps_per_collect",
                 "replay_capacity", "episodes", "eval_envs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.signal_every > args.env_steps:
        parser.error("--signal-every must not exceed --env-steps")
    return args


class Refused(Exception):
    """A comparison that must not continue as asked; the message says why and what to do."""


def _claim(args: argparse.Namespace) -> None:
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                if k not in (*MAY_CHANGE, "logdir", "list")}
    path = args.logdir / "settings.json"
    if path.is_file():
        stored = json.loads(path.read_text())
        changed = [f"--{k.replace('_', '-')} {stored.get(k)!r} (this run: {v!r})"
                   for k, v in settings.items() if stored.get(k) != v]
        if changed:
            raise Refused(f"{args.logdir} holds a comparison with {'; '.join(changed)}; only "
                          f"{', '.join('--' + k.replace('_', '-') for k in MAY_CHANGE)} may "
                          "change: use its options or another --logdir")
    args.logdir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2))


def _arms(args: argparse.Namespace) -> list[str]:
    return [report.BASELINE, *args.mutants]


def _logdir(args: argparse.Namespace, arm: str, seed: int) -> Path:
    return args.logdir / arm / f"seed{seed}"


def _spec(args: argparse.Namespace, arm: str, seed: int) -> dict[str, Any]:
    learner = (learner_lib.DEFAULT if arm == report.BASELINE
               else f"benchmarks.impact.mutated:{arm}")
    train = {"env": args.env, "preset": args.preset, "learner": learner,
             "num_envs": args.num_envs, "steps_per_collect": args.steps_per_collect,
             "train_ratio": args.train_ratio, "replay_capacity": args.replay_capacity,
             "seed": seed, "env_steps": args.env_steps,
             "logdir": str(_logdir(args, arm, seed))}
    return {"train": train, "episodes": args.episodes, "eval_envs": args.eval_envs,
            "eval_seed": args.eval_seed}


def _runs(args: argparse.Namespace) -> report.Runs:
    runs: report.Runs = {}
    for arm in _arms(args):
        runs[arm] = {}
        for seed in args.seeds:
            logdir = _logdir(args, arm, seed)
            path = logdir / run_one.EVALUATION
            runs[arm][seed] = {"lines": signals.read(logdir), "evaluation":
                               json.loads(path.read_text()) if path.is_file() else None}
    return runs


def _cost(runs: report.Runs) -> str:
    evaluated = [run["evaluation"] for arm in runs.values() for run in arm.values()
                 if run["evaluation"]]
    if not evaluated:
        return "no run finished yet"
    train = [e["train_seconds"] for e in evaluated]
    evaluation = [e["eval_seconds"] for e in evaluated]
    return (f"{len(evaluated)} runs finished: {sum(train) / 60:.0f} min training "
            f"(median {statistics.median(train) / 60:.1f} min a run) and "
            f"{sum(evaluation) / 60:.0f} min evaluating, one run at a time")


def _settings(args: argparse.Namespace, runs: report.Runs) -> list[str]:
    machine = bench_report.machine()
    budgets = ", ".join(map(str, _budgets(args)))
    return [
        f"environment {args.env}; agent preset `{args.preset}`; seeds "
        f"{', '.join(map(str, args.seeds))} in every arm",
        f"{args.num_envs} envs, {args.steps_per_collect} steps per collect, train ratio "
        f"{args.train_ratio:g}, replay capacity {args.replay_capacity} steps per env",
        f"{args.env_steps} env steps per run; signals at {budgets} env steps",
        f"final checkpoint evaluated on {args.episodes} episodes in {args.eval_envs} envs from "
        f"seed {args.eval_seed} (benchmarks.learning's selection), sampling its policy",
        f"compute: {_cost(runs)}; {machine['CPU']}, {machine['cores']} cores",
    ]


def _budgets(args: argparse.Namespace) -> list[int]:
    budgets = list(range(args.signal_every, args.env_steps + 1, args.signal_every))
    return budgets if budgets[-1] == args.env_steps else [*budgets, args.env_steps]


def _write(args: argparse.Namespace, command: str) -> None:
    runs = _runs(args)
    report.write(args.out, runs, _budgets(args), args.signal_every, args.env_steps,
                 _settings(args, runs), command)


def _train(args: argparse.Namespace, arm: str, seed: int) -> int:
    """Run one arm's seed in a process of its own; its exit code."""
    spec = _spec(args, arm, seed)
    logdir = Path(spec["train"]["logdir"])
    logdir.mkdir(parents=True, exist_ok=True)
    (logdir / "RUN.json").write_text(json.dumps(spec, indent=2))
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.impact.run_one",
                                str(logdir / "RUN.json")])
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:  # the run got the same SIGINT: let it write its checkpoint
            continue


def run(args: argparse.Namespace, command: str) -> int:
    _claim(args)
    todo = [(arm, seed) for arm in _arms(args) for seed in args.seeds
            if run_one.done(_logdir(args, arm, seed), args.env_steps) is None]
    _say(f"{len(todo)} of {len(_arms(args)) * len(args.seeds)} runs to train to "
         f"{args.env_steps} env steps")
    durations: list[float] = []
    for index, (arm, seed) in enumerate(todo):
        eta = (f"; about {statistics.fmean(durations) * (len(todo) - index) / 60:.0f} min left"
               if durations else "")
        _say(f"run {index + 1}/{len(todo)}: {arm} seed {seed}{eta}")
        started = time.monotonic()
        code = _train(args, arm, seed)
        _write(args, command)
        if code:
            stopped = code > 128 and code - 128 in (signal.SIGINT, signal.SIGTERM)
            _say(("stopped" if stopped else f"{arm} seed {seed} failed (exit code {code})")
                 + f"; report {args.out}; run the same command again to continue")
            return code
        durations.append(time.monotonic() - started)
    _write(args, command)
    _say(f"done: report {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parse(argv)
    if args.list:
        for name, mutant in MUTANTS.items():
            print(f"{name:40s} [{mutant.tag}] {mutant.description}")
        return 0
    try:
        return run(args, shlex.join(["python", "-m", "benchmarks.impact", *argv]))
    except Refused as error:
        raise SystemExit(f"[impact] {error}") from None


if __name__ == "__main__":
    sys.exit(main())
