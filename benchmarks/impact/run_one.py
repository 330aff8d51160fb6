"""`python -m benchmarks.impact.run_one RUN.json`: one run of an impact comparison, in a
process of its own (a planted mutant stays for the process).

RUN.json holds {"train": reimpl.train TrainConfig fields, "episodes", "eval_envs",
"eval_seed"}. The run trains to train.env_steps (resuming from the checkpoint in its logdir
when there is one, bit-exactly as reimpl.train --resume), then evaluates the checkpoint on
benchmarks.learning's episodes and writes LOGDIR/evaluation.json, with the seconds the run
took to train and evaluate (`train_seconds`, `eval_seconds`: the comparison's compute cost).
Exits 0 when done, 128 + the signal when stopped (checkpoint written; run it again).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

from reimpl.train import evaluate as evaluate_lib
from reimpl.train import run as run_lib
from reimpl.train.train_config import TrainConfig

from ..learning import evaluation
from ..learning.__main__ import KEPT

EVALUATION = "evaluation.json"


def done(logdir: Path, env_steps: int) -> dict[str, Any] | None:
    """The run's evaluation if it was evaluated at `env_steps`, else None."""
    path = logdir / EVALUATION
    if not path.is_file():
        return None
    evaluated = json.loads(path.read_text())
    return evaluated if evaluated["env_steps"] == env_steps else None


def run(spec: dict[str, Any]) -> dict[str, Any]:
    config = TrainConfig(**spec["train"])
    logdir = Path(config.logdir)
    evaluated = done(logdir, config.env_steps)
    if evaluated is not None:
        return evaluated
    started = time.monotonic()
    resume = (logdir / run_lib.CHECKPOINT).is_file()
    earlier = json.loads((logdir / "seconds.json").read_text()) if resume and (
        logdir / "seconds.json").is_file() else {"train": 0.0}
    run_lib.train(dataclasses.replace(config, resume=resume, overwrite=not resume))
    trained = earlier["train"] + time.monotonic() - started
    (logdir / "seconds.json").write_text(json.dumps({"train": trained}))
    started = time.monotonic()
    contestant, env_steps = evaluation.contestant(config, logdir / run_lib.CHECKPOINT)
    report = evaluate_lib.evaluate(contestant, spec["episodes"], spec["eval_envs"],
                                   spec["eval_seed"])
    evaluated = {"env_steps": env_steps, **{k: report[k] for k in KEPT},
                 "train_seconds": trained, "eval_seconds": time.monotonic() - started}
    tmp = logdir / f"{EVALUATION}.tmp"
    tmp.write_text(json.dumps(evaluated))
    tmp.replace(logdir / EVALUATION)
    return evaluated


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit("usage: python -m benchmarks.impact.run_one RUN.json (written by "
                         "python -m benchmarks.impact)")
    try:
        run(json.loads(Path(argv[0]).read_text()))
    except run_lib.Interrupted as stopped:
        print(stopped, file=sys.stderr, flush=True)
        return 128 + stopped.signum
    return 0


if __name__ == "__main__":
    sys.exit(main())
