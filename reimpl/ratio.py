"""`python -m reimpl.ratio`: a lock-step schedule's train ratio in the official sense.

Official meaning (embodied/run/train.py, configs.yaml `run.train_ratio`): replayed steps per
environment step. One update replays batch_size * batch_length steps, so a loop that collects
envs * steps_per_collect env steps and then runs grad_steps updates has ratio
grad_steps * batch_size * batch_length / (envs * steps_per_collect).
"""

from __future__ import annotations

import argparse
import sys

# Official task presets (configs.yaml `run.train_ratio`), all at batch 16 x 64.
OFFICIAL = {"defaults": 32, "atari": 32, "dmlab": 32, "procgen": 64, "atari100k": 256,
            "crafter": 512, "dmc_vision": 256, "dmc_proprio": 1024, "bsuite": 1024,
            "loconav": 256}
OFFICIAL_BATCH = (16, 64)


def train_ratio(envs: int, steps_per_collect: int, grad_steps: float, batch_size: int,
                batch_length: int) -> float:
    """Replayed steps per env step."""
    if min(envs, steps_per_collect, batch_size, batch_length) <= 0:
        raise ValueError("envs, steps per collect, batch size and length must be positive")
    return grad_steps * batch_size * batch_length / (envs * steps_per_collect)


def grad_steps_for(ratio: float, envs: int, steps_per_collect: int, batch_size: int,
                   batch_length: int) -> float:
    """Updates per collect phase that reach `ratio` (fractional: accumulate across phases)."""
    return ratio * envs * steps_per_collect / (batch_size * batch_length)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, required=True)
    parser.add_argument("--steps-per-collect", type=int, required=True)
    parser.add_argument("--grad-steps", type=float, help="updates per collect phase")
    parser.add_argument("--batch-size", type=int, default=OFFICIAL_BATCH[0])
    parser.add_argument("--batch-length", type=int, default=OFFICIAL_BATCH[1])
    parser.add_argument("--target", type=float, help="print the grad steps reaching this ratio")
    args = parser.parse_args(argv)
    shape = (args.envs, args.steps_per_collect)
    batch = (args.batch_size, args.batch_length)
    if args.grad_steps is not None:
        ratio = train_ratio(*shape, args.grad_steps, *batch)
        print(f"train ratio {ratio:g} replayed steps per env step "
              f"({args.grad_steps:g} updates per {shape[0] * shape[1]} env steps)")
        for name, official in sorted(OFFICIAL.items(), key=lambda x: x[1]):
            print(f"  official {name:<12} {official:>5}  ({ratio / official:.3g}x)")
    if args.target is not None:
        steps = grad_steps_for(args.target, *shape, *batch)
        print(f"ratio {args.target:g} needs {steps:g} updates per collect phase")
    if args.grad_steps is None and args.target is None:
        parser.error("give --grad-steps, --target, or both")
    return 0


if __name__ == "__main__":
    sys.exit(main())
