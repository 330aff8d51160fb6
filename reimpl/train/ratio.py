"""`python -m reimpl.ratio`: a lock-step schedule's train ratio in the official sense.

Official meaning (embodied/run/train.py: `batch_steps = batch_size * batch_length`,
`should_train = when.Ratio(train_ratio / batch_steps)`): replayed steps per environment step,
counting every step of every env (reset steps included, as the driver emits them). One update
replays batch_size * batch_length steps; the `replay_context` steps each sequence carries on
top are not counted. So a loop that collects envs * steps_per_collect env steps and then runs
grad_steps updates has

    train ratio = grad_steps * batch_size * batch_length / (envs * steps_per_collect)
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass

from .. import cli

OFFICIAL_BATCH = (16, 64)  # configs.yaml batch_size, batch_length


@dataclass(frozen=True)
class OfficialPreset:
    train_ratio: float  # configs.yaml `run.train_ratio`
    envs: int  # configs.yaml `run.envs` (16 unless the preset sets it)

    @property
    def updates_per_env_step(self) -> float:
        return updates_per_env_step(self.train_ratio, *OFFICIAL_BATCH)


OFFICIAL = {
    "defaults": OfficialPreset(32, 16),
    "atari": OfficialPreset(32, 16),
    "dmlab": OfficialPreset(32, 16),
    "procgen": OfficialPreset(64, 16),
    "atari100k": OfficialPreset(256, 1),
    "crafter": OfficialPreset(512, 1),
    "dmc_vision": OfficialPreset(256, 16),
    "loconav": OfficialPreset(256, 16),
    "dmc_proprio": OfficialPreset(1024, 16),
    "bsuite": OfficialPreset(1024, 1),
}


def _check_positive(**sizes: float) -> None:
    bad = {name: value for name, value in sizes.items() if value <= 0}
    if bad:
        raise ValueError(f"these must be positive: {bad}")


def _check_count(name: str, value: float) -> None:
    if not 0 <= value < math.inf:  # NaN fails too
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")


def train_ratio(envs: int, steps_per_collect: int, grad_steps: float, batch_size: int,
                batch_length: int) -> float:
    """Replayed steps per env step."""
    _check_positive(envs=envs, steps_per_collect=steps_per_collect, batch_size=batch_size,
                    batch_length=batch_length)
    _check_count("grad_steps", grad_steps)
    return grad_steps * batch_size * batch_length / (envs * steps_per_collect)


def grad_steps_for(ratio: float, envs: int, steps_per_collect: int, batch_size: int,
                   batch_length: int) -> float:
    """Updates per collect phase that reach `ratio`; fractional values mean the loop must carry
    the remainder across phases (as the official `when.Ratio` does)."""
    _check_positive(envs=envs, steps_per_collect=steps_per_collect, batch_size=batch_size,
                    batch_length=batch_length)
    _check_count("the target train ratio", ratio)
    return ratio * envs * steps_per_collect / (batch_size * batch_length)


def updates_per_env_step(ratio: float, batch_size: int, batch_length: int) -> float:
    """Official batch 16 x 64: ratio / 1024."""
    return ratio / (batch_size * batch_length)


def report(envs: int, steps_per_collect: int, batch_size: int, batch_length: int,
           grad_steps: float | None = None, target: float | None = None) -> str:
    """What the CLI prints."""
    if grad_steps is None and target is None:
        raise ValueError("give grad_steps, target, or both")
    env_steps = envs * steps_per_collect
    shape = (envs, steps_per_collect)
    lines = [f"{envs} envs x {steps_per_collect} steps = {env_steps} env steps per collect; "
             f"batch {batch_size} x {batch_length} = {batch_size * batch_length} replayed "
             "steps per update"]
    ratio = None
    if grad_steps is not None:
        ratio = train_ratio(*shape, grad_steps, batch_size, batch_length)
        lines.append(f"train ratio {ratio:g} replayed steps per env step "
                     f"({grad_steps:g} updates per collect, "
                     f"{grad_steps / env_steps:.4g} updates per env step)")
    if target is not None:
        steps = grad_steps_for(target, *shape, batch_size, batch_length)
        whole = max(1, round(steps))
        achieved = train_ratio(*shape, whole, batch_size, batch_length)
        lines.append(f"train ratio {target:g} needs {steps:g} updates per collect "
                     f"(a whole {whole} per collect gives {achieved:g})")
    lines.append("official presets (batch 16 x 64):")
    for name, preset in sorted(OFFICIAL.items(), key=lambda item: item[1].train_ratio):
        line = (f"  {name:<12} train ratio {preset.train_ratio:>6g}  envs {preset.envs:>2}  "
                f"{preset.updates_per_env_step:.4g} updates per env step")
        if ratio is not None:
            line += f"  (yours {ratio / preset.train_ratio:.3g}x)"
        lines.append(line)
    return "\n".join(lines)


class _HelpFormatter(cli.HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """The docstring's formula kept as written."""


def build_parser() -> argparse.ArgumentParser:
    parser = cli.Parser(
        prog="python -m reimpl.ratio", description=__doc__, formatter_class=_HelpFormatter,
        epilog="example: python -m reimpl.ratio --envs 16 --steps-per-collect 64 "
               "--grad-steps 32 --target 512")
    parser.add_argument("--envs", type=int, required=True,
                        help="environments stepped in lock-step")
    parser.add_argument("--steps-per-collect", type=int, required=True,
                        help="env steps per env between two update phases")
    parser.add_argument("--grad-steps", type=float,
                        help="updates per collect phase (prints the train ratio they give)")
    parser.add_argument("--batch-size", type=int, default=OFFICIAL_BATCH[0],
                        help="sequences per update")
    parser.add_argument("--batch-length", type=int, default=OFFICIAL_BATCH[1],
                        help="trained steps per sequence, without the replay context")
    parser.add_argument("--target", type=float,
                        help="a train ratio to reach (prints the updates per collect it needs)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.grad_steps is None and args.target is None:
        parser.error("give --grad-steps, --target, or both")
    try:
        print(report(args.envs, args.steps_per_collect, args.batch_size, args.batch_length,
                     args.grad_steps, args.target))
    except ValueError as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
