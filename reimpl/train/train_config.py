"""The options of `python -m reimpl.train`: one frozen TrainConfig whose fields carry their
help, least value and choices; the parser built from it; and what a checkpoint stores of it and
what a resumed run may change.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
from dataclasses import dataclass
from typing import Any

from .. import cli
from ..config import PRESETS, override, preset
from . import envs as envs_lib
from . import learner as learner_lib
from . import sharding


def _option(default, help: str, *, minimum: float | None = None, choices=None):
    """A TrainConfig field: its `--help` text, and the least value or the choices it accepts
    (checked by the parser and again when a TrainConfig is built)."""
    return dataclasses.field(default=default, metadata={"help": help, "minimum": minimum,
                                                        "choices": choices})


@dataclass(frozen=True)
class TrainConfig:
    env: str = _option("Craftax-Classic-Pixels-v1", "the Craftax environment",
                       choices=envs_lib.ENV_NAMES)
    preset: str = _option("cpu", "agent preset (reimpl/config.py): 'cpu' is a small model for "
                          "CPUs, not an official preset; size1m..size400m the official sizes",
                          choices=PRESETS)
    agent: str = _option("", "agent config fields replaced on top of the preset, "
                         "'key=value,...': dotted keys for nested groups, ':' between the items "
                         "of a tuple, e.g. 'opt.lr=3e-4,rssm.free_nats=0.5,enc.mults=2:3:4:4' "
                         "(fields and types in reimpl/config.py)")
    learner: str = _option(learner_lib.DEFAULT, "the agent the loop trains, MODULE:FACTORY: a "
                           "function (obs_space, act_space, agent config) -> learner, protocol "
                           "in reimpl/train/learner.py; "
                           "reference_adapter.learner:official_learner is the official DreamerV3 "
                           "with the same --preset and --agent config")
    num_envs: int = _option(8, "environments stepped in lock-step", minimum=1)
    steps_per_collect: int = _option(8, "env steps per env between update phases", minimum=1)
    train_ratio: float = _option(32.0, "replayed steps per env step (official run.train_ratio)",
                                 minimum=0)
    env_steps: int = _option(1024, "total env steps, all envs together; the default takes about "
                             "4 minutes on 2 CPU cores", minimum=1)
    replay_capacity: int = _option(2048, "replay steps kept per env", minimum=1)
    max_episode_steps: int = _option(0, "episode time limit; 0 keeps craftax's (10000 Classic, "
                                     "100000 full)", minimum=0)
    seed: int = _option(0, "seed of the agent, the envs and the replay sampling")
    devices: int = _option(1, "devices to train on, data-parallel (reimpl/train/sharding.py): envs "
                           "and replay split over them, each update's batch too, parameters "
                           "replicated; must divide --num-envs and the batch size. With "
                           "--distributed, counted over all hosts", minimum=1)
    fused: str = _option("auto", "compile collect and the iteration's updates as one program "
                         "(on) or each update as its own (off); auto: on for GPU and TPU, off "
                         "on CPU, where an update inside a loop runs slower (reimpl/train/loop.py)",
                         choices=("auto", "on", "off"))
    distributed: bool = _option(False, "several hosts: call jax.distributed.initialize() first "
                                "(coordinator from JAX_COORDINATOR_ADDRESS, process count and "
                                "id from JAX_NUM_PROCESSES and JAX_PROCESS_ID or a cluster JAX "
                                "detects: SLURM, Open MPI, Kubernetes, Cloud TPU); start the "
                                "same command on every host, each with its own --logdir")
    logdir: str = _option("runs/craftax", "where the run's checkpoint and logs go; one run per "
                          "directory")
    checkpoint_every: int = _option(50, "iterations between checkpoints", minimum=1)
    checkpoint_minutes: float = _option(2.0, "minutes between checkpoints, whatever the "
                                        "iteration count (0: by --checkpoint-every only)",
                                        minimum=0)
    # The official report runs every 300 s.
    report_every: int = _option(10, "iterations between open-loop prediction images "
                                "(LOGDIR/openloop/iter_XXXXXX.png and TensorBoard openloop/image), "
                                "pixel envs only", minimum=1)
    resume: bool = _option(False, "continue the run in --logdir from its checkpoint; the "
                           "options must be those it was started with, except --env-steps, "
                           "the checkpoint and report cadences, and --devices, --fused and "
                           "--distributed (bit-exact only when these three are unchanged)")
    overwrite: bool = _option(False, "delete the run already in --logdir (its checkpoint, logs "
                              "and images) and start a new one")

    def __post_init__(self):
        for field in dataclasses.fields(self):
            problem = _invalid(field, getattr(self, field.name))
            if problem:
                raise ValueError(f"TrainConfig.{field.name}: {problem}")
        if self.resume and self.overwrite:
            raise ValueError("resume and overwrite exclude each other")


def _invalid(field: dataclasses.Field, value) -> str | None:
    """Why `value` is no value for `field`, or None."""
    minimum, choices = field.metadata["minimum"], field.metadata["choices"]
    if minimum is not None and value < minimum:
        return f"must be at least {minimum:g}, got {value}"
    if choices is not None and value not in choices:
        return f"must be one of {', '.join(choices)}, got {value!r}"
    return None


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _typed(field: dataclasses.Field):
    kind = {"int": int, "float": float, "str": str}[field.type]

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        problem = _invalid(field, value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    parse.__name__ = field.type  # argparse names the type in its message
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = cli.Parser(prog="python -m reimpl.train",
                     description="Train DreamerV3 on Craftax; the checkpoint and logs of the run "
                                 "go to --logdir (one run per directory).",
                     formatter_class=cli.HelpFormatter)
    for field in dataclasses.fields(TrainConfig):
        help_text = field.metadata["help"]
        if field.type == "bool":
            parser.add_argument(flag(field.name), action="store_true", help=help_text)
        elif field.metadata["choices"]:
            parser.add_argument(flag(field.name), choices=field.metadata["choices"],
                                default=field.default, help=help_text)
        else:
            parser.add_argument(flag(field.name), type=_typed(field), default=field.default,
                                help=help_text)
    return parser


def parse(argv) -> TrainConfig:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.resume and args.overwrite:
        parser.error("--resume continues the run in --logdir, --overwrite deletes it: pass one")
    for part in filter(None, (part.strip() for part in args.agent.split(","))):
        if "=" not in part:
            parser.error(f"--agent: {part!r} is not key=value; ',' separates assignments, so "
                         "the items of a tuple are joined with ':' (enc.mults=2:3:4:4)")
    try:
        override(preset(args.preset), args.agent)
    except ValueError as error:
        parser.error(f"--agent: {error}")
    try:
        learner_lib.load_factory(args.learner)
    except learner_lib.LearnerUnavailable as error:
        parser.error(f"--learner: {error}")
    batch_size = override(preset(args.preset), args.agent).batch_size
    problem = sharding.split_refusal(args.devices, args.num_envs, batch_size)
    if problem:
        parser.error(problem)
    return TrainConfig(**vars(args))


# Not stored in the checkpoint: where and how this process runs the training. A run resumed
# on other devices or with the other compilation continues from the same state; its float
# rounding (reduction order, fusion) may then differ from an uninterrupted run's.
RUN_ON = ("devices", "fused", "distributed")
PROCESS_FIELDS = ("logdir", "resume", "overwrite", *RUN_ON)
# What a resumed run may change: how long it runs, how often it checkpoints and reports.
# Every other stored field must be as the run was started.
MAY_CHANGE_ON_RESUME = ("env_steps", "checkpoint_every", "checkpoint_minutes", "report_every")


def stored_config(config: TrainConfig) -> dict[str, Any]:
    """What the checkpoint records: the fields that describe the training, without where
    and how this process runs it, so a checkpoint does not depend on them."""
    return {k: v for k, v in dataclasses.asdict(config).items() if k not in PROCESS_FIELDS}


def _dotted(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> {'rssm.deter': 8, ...}, the keys --agent takes."""
    flat = {}
    for name, value in tree.items():
        if isinstance(value, dict):
            flat.update(_dotted(value, f"{prefix}{name}."))
        else:
            flat[prefix + name] = value
    return flat


def _agent_differences(stored: dict[str, Any], config: TrainConfig) -> list[str]:
    """Dotted agent config fields that differ, or ['--agent'] when the stored one does not
    build here. Spellings of the same value ('opt.lr=3e-4' and '0.0003') agree."""
    try:
        before = _dotted(dataclasses.asdict(override(preset(stored["preset"]), stored["agent"])))
    except (KeyError, ValueError):
        return ["--agent"]
    now = _dotted(dataclasses.asdict(override(preset(config.preset), config.agent)))
    return [f"{name} {before[name]!r} -> {now[name]!r}" for name in before
            if before[name] != now[name]]


# The default learner's spec before the training system moved into reimpl/train/; checkpoints
# written then store it, and it names the same learner as DEFAULT.
OLD_DEFAULT_LEARNER = "reimpl.learner:reimpl_learner"


def upgraded(stored: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's stored config in this version's terms: a checkpoint from before --learner
    existed is a run of the default learner, and so is one that names its old spec."""
    stored = {"learner": learner_lib.DEFAULT, **stored}
    if stored["learner"] == OLD_DEFAULT_LEARNER:
        stored["learner"] = learner_lib.DEFAULT
    return stored


def changed_on_resume(stored: dict[str, Any], config: TrainConfig) -> list[str]:
    """Fields of the stored config this run would change and may not, as '--flag old (this
    run: new)'."""
    stored = upgraded(stored)
    current = stored_config(config)
    changed = []
    for name in [*current, *sorted(set(stored) - set(current))]:
        if name in MAY_CHANGE_ON_RESUME or stored.get(name) == current.get(name):
            continue
        if name not in current:
            changed.append(f"{name}={stored[name]!r} (not an option of this reimpl.train)")
        elif name == "agent":
            fields = _agent_differences(stored, config)
            if fields:
                changed.append(f"--agent {stored.get(name)!r} (this run: {current[name]!r}; "
                               f"{', '.join(fields)})")
        else:
            changed.append(f"{flag(name)} {stored.get(name)!r} (this run: {current[name]!r})")
    return changed


def command_line(config: TrainConfig) -> str:
    """The `python -m reimpl.train ...` that runs `config` (options at their default left
    out)."""
    words = ["python", "-m", "reimpl.train"]
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if value == field.default:
            continue
        words += [flag(field.name)] if field.type == "bool" else [flag(field.name), str(value)]
    return shlex.join(words)
