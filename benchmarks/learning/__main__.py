"""`python -m benchmarks.learning`: train the reimpl and the official agent with the same
settings and seeds in reimpl.train's loop, evaluate a checkpoint of every run every
--eval-every env steps on the same episodes, and write LEARNING.md with its plot and table.

Runs go to LOGDIR/<learner>/seed<k> (a reimpl.train logdir each, plus `evaluations.jsonl`, one
line per evaluated checkpoint); the random baseline to LOGDIR/random.json; the options to
LOGDIR/settings.json. The same command continues where it stopped: evaluated checkpoints are
kept, each run resumes from its checkpoint (bit-exactly, as reimpl.train --resume), and a
larger --env-steps extends every run. The runs advance together, one evaluation point at a
time, and the report is rewritten after each point, so a stopped comparison still compares.
`--advance` lets some runs go ahead (e.g. the official learner past the point where the
reimpl's behaviour is already known); the report still shows every run, each as far as it got.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from reimpl import cli
from reimpl.config import PRESETS
from reimpl.train import envs as envs_lib
from reimpl.train import evaluate as evaluate_lib
from reimpl.train import learner as learner_lib
from reimpl.train import run as run_lib
from reimpl.train.train_config import TrainConfig

from . import evaluation, report

LEARNERS = {"reimpl": learner_lib.DEFAULT,
            "official": "reference_adapter.learner:official_learner"}
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "LEARNING.md"
# Kept of each reimpl.evaluate report (its per-episode lists are not).
KEPT = ("episodes", "return_mean", "return_std", "length_mean", "length_std", "crafter_score",
        "achievements", "env", "envs", "seed")
# Options a continued comparison may change; every other one must be as it was started.
MAY_CHANGE = ("env_steps", "out", "advance")


def _names(parser: argparse.ArgumentParser, text: str) -> list[str]:
    names = [n for n in text.split(",") if n]
    unknown = [n for n in names if n not in LEARNERS]
    if unknown or not names:
        parser.error(f"--learners: unknown {', '.join(unknown) or 'none given'}; choose from "
                     f"{', '.join(LEARNERS)}")
    return names


def _seeds(parser: argparse.ArgumentParser, text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s]
    except ValueError:
        parser.error(f"--seeds: {text!r} is not comma-separated integers")
    if not seeds or len(set(seeds)) != len(seeds):
        parser.error(f"--seeds: {text!r} must name at least one seed, each once")
    return seeds


def _advanced(parser: argparse.ArgumentParser, text: str, learners: list[str],
              seeds: list[int]) -> set[tuple[str, int]]:
    """The runs `--advance` names: `all`, or learners and learner:seed pairs."""
    runs = {(learner, seed) for learner in learners for seed in seeds}
    if text == "all":
        return runs
    chosen = set()
    for item in (x for x in text.split(",") if x):
        learner, _, seed = item.partition(":")
        named = {r for r in runs if r[0] == learner and (not seed or str(r[1]) == seed)}
        if not named:
            parser.error(f"--advance: {item!r} is none of this comparison's runs; name a "
                         f"learner ({', '.join(learners)}) or learner:seed (seeds "
                         f"{', '.join(map(str, seeds))})")
        chosen |= named
    if not chosen:
        parser.error("--advance: name at least one run, or all")
    return chosen


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = cli.Parser(prog="python -m benchmarks.learning", description=(
        "Train the reimpl and the official DreamerV3 in reimpl.train's loop with the same "
        "settings and seeds, evaluate their checkpoints on the same episodes, and write "
        "LEARNING.md with a plot and a table. Run it again to continue."),
        formatter_class=cli.HelpFormatter)
    add = parser.add_argument
    add("--learners", default="reimpl,official",
        help=f"comma-separated learners: {', '.join(f'{k} ({v})' for k, v in LEARNERS.items())}")
    add("--seeds", default="0,1", help="comma-separated training seeds, the same for every "
        "learner")
    add("--env-steps", type=int, default=196608, help="env steps per run; a larger value "
        "later extends every run")
    add("--eval-every", type=int, default=16384, help="env steps between evaluated checkpoints")
    add("--env", default="Craftax-Classic-Symbolic-v1", choices=envs_lib.ENV_NAMES,
        help="the Craftax environment")
    add("--preset", default="cpu", choices=PRESETS, help="agent preset (reimpl/config.py), the "
        "same hyperparameters for both learners")
    add("--agent", default="", help="agent config fields replaced on top of the preset, as "
        "reimpl.train --agent")
    add("--num-envs", type=int, default=8, help="environments stepped in lock-step")
    add("--steps-per-collect", type=int, default=8, help="env steps per env between update "
        "phases")
    add("--train-ratio", type=float, default=32.0, help="replayed steps per env step")
    add("--replay-capacity", type=int, default=8192, help="replay steps kept per env")
    add("--episodes", type=int, default=256, help="evaluation episodes per checkpoint")
    add("--eval-envs", type=int, default=8, help="environments of an evaluation")
    add("--eval-seed", type=int, default=0, help="seed of the evaluation episodes (the same "
        "initial worlds for every checkpoint and the random policy)")
    add("--advance", default="all", help="the runs to train this time: all, or comma-separated "
        "learners and learner:seed pairs (e.g. official or official:0); the others keep what "
        "they have, and the report shows every run")
    add("--logdir", type=Path, default=Path("runs/learning"), help="where the runs, their "
        "evaluations and the random baseline go")
    add("--out", type=Path, default=DEFAULT_OUT, help="the report; its plot is written next to "
        "it with the suffix .png")
    args = parser.parse_args(argv)
    args.learners, args.seeds = _names(parser, args.learners), _seeds(parser, args.seeds)
    args.advance = _advanced(parser, args.advance, args.learners, args.seeds)
    for name in ("env_steps", "eval_every", "num_envs", "steps_per_collect", "replay_capacity",
                 "episodes", "eval_envs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


class Refused(Exception):
    """A comparison that must not continue as asked; the message says why and what to do."""


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
            if k not in MAY_CHANGE and k != "logdir"}


def _claim(args: argparse.Namespace) -> None:
    """Writes LOGDIR/settings.json, or refuses options that differ from those stored there."""
    path = args.logdir / "settings.json"
    settings = _settings(args)
    if path.is_file():
        stored = json.loads(path.read_text())
        changed = [f"--{k.replace('_', '-')} {stored.get(k)!r} (this run: {v!r})"
                   for k, v in settings.items() if stored.get(k) != v]
        if changed:
            raise Refused(f"{args.logdir} holds a comparison with {'; '.join(changed)}; only "
                          "--env-steps and --out may change: use its options or another "
                          "--logdir")
    args.logdir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2))


def _train_config(args: argparse.Namespace, learner: str, seed: int) -> TrainConfig:
    return TrainConfig(env=args.env, preset=args.preset, agent=args.agent,
                       learner=LEARNERS[learner], num_envs=args.num_envs,
                       steps_per_collect=args.steps_per_collect, train_ratio=args.train_ratio,
                       replay_capacity=args.replay_capacity, seed=seed,
                       logdir=str(args.logdir / learner / f"seed{seed}"))


def _evaluations(logdir: Path) -> list[dict[str, Any]]:
    path = logdir / "evaluations.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.is_file() else []


def _kept(evaluated: dict[str, Any]) -> dict[str, Any]:
    return {k: evaluated[k] for k in KEPT}


def _say(message: str) -> None:
    print(f"[learning] {message}", flush=True)


def _advance(args: argparse.Namespace, learner: str, seed: int, target: int,
             random: dict[str, Any]) -> None:
    """Train the run to `target` env steps and evaluate its checkpoint, unless done before."""
    config = _train_config(args, learner, seed)
    logdir = Path(config.logdir)
    if any(e["target"] == target for e in _evaluations(logdir)):
        return
    resume = (logdir / run_lib.CHECKPOINT).is_file()
    if not resume:  # a run that never reached a checkpoint starts again
        (logdir / "evaluations.jsonl").unlink(missing_ok=True)
    _say(f"{learner} seed {seed}: training to {target} env steps"
         + (" (resumed)" if resume else ""))
    run_lib.train(dataclasses.replace(config, env_steps=target, resume=resume,
                                      overwrite=not resume))
    contestant, env_steps = evaluation.contestant(config, logdir / run_lib.CHECKPOINT)
    _say(f"{learner} seed {seed}: evaluating the checkpoint at {env_steps} env steps")
    evaluated = _kept(evaluate_lib.evaluate(contestant, args.episodes, args.eval_envs,
                                            args.eval_seed))
    with open(logdir / "evaluations.jsonl", "a") as file:
        file.write(json.dumps({"target": target, "env_steps": env_steps, **evaluated}) + "\n")
    _say(f"{learner} seed {seed} at {env_steps} env steps: return "
         f"{evaluated['return_mean']:.2f} ± {report.standard_error(evaluated):.2f} "
         f"(random {random['return_mean']:.2f})")


def _random(args: argparse.Namespace) -> dict[str, Any]:
    path = args.logdir / "random.json"
    if not path.is_file():
        _say("evaluating the random policy")
        contestant = evaluate_lib.random_contestant(args.env, 0)
        path.write_text(json.dumps(_kept(evaluate_lib.evaluate(
            contestant, args.episodes, args.eval_envs, args.eval_seed))))
    return json.loads(path.read_text())


def _targets(args: argparse.Namespace) -> list[int]:
    targets = list(range(args.eval_every, args.env_steps + 1, args.eval_every))
    return targets if targets and targets[-1] == args.env_steps else [*targets, args.env_steps]


def _report_settings(args: argparse.Namespace, random: dict[str, Any]) -> list[str]:
    learners = ", ".join(f"{name} (`--learner {LEARNERS[name]}`)" for name in args.learners)
    agent = f" with `--agent {args.agent}`" if args.agent else ""
    return [
        f"environment {args.env}; agent preset `{args.preset}`{agent} for every learner",
        f"learners: {learners}; seeds {', '.join(map(str, args.seeds))}",
        f"{args.num_envs} envs, {args.steps_per_collect} steps per collect, train ratio "
        f"{args.train_ratio:g}, replay capacity {args.replay_capacity} steps per env",
        f"a checkpoint evaluated every {args.eval_every} env steps up to {args.env_steps}: "
        f"{args.episodes} episodes in {args.eval_envs} envs from seed {args.eval_seed}",
        f"random policy on the same episodes: {random['return_mean']:.2f} ± "
        f"{report.standard_error(random):.2f} (std {random['return_std']:.2f})",
    ]


def run(args: argparse.Namespace, command: str) -> Path:
    _claim(args)
    random = _random(args)
    for target in _targets(args):
        for learner in args.learners:
            for seed in args.seeds:
                if (learner, seed) in args.advance:
                    _advance(args, learner, seed, target, random)
        evaluations = {learner: {seed: _evaluations(args.logdir / learner / f"seed{seed}")
                                 for seed in args.seeds} for learner in args.learners}
        report.write(args.out, evaluations, random, _report_settings(args, random), command)
        _say(f"{target}/{args.env_steps} env steps: report {args.out}")
    return args.out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parse(argv)
    try:
        run(args, shlex.join(["python", "-m", "benchmarks.learning", *argv]))
    except (Refused, run_lib.RunRefused) as error:
        raise SystemExit(f"[learning] {error}") from None
    except run_lib.Interrupted as stopped:
        print(f"{stopped}\n[learning] run the same command again to continue the comparison",
              file=sys.stderr, flush=True)
        return 128 + stopped.signum
    return 0


if __name__ == "__main__":
    sys.exit(main())
