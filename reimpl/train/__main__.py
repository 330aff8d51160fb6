"""`python -m reimpl.train`: the command line of a training run (options in
reimpl/train/train_config.py, the run in reimpl/train/run.py); exit codes: 0 done, 2 bad
options, 128 + the signal's number when SIGINT or SIGTERM stopped it."""

from __future__ import annotations

import signal
import sys

from . import checkpoint as checkpoint_lib
from . import sharding as sharding_lib
from .run import CHECKPOINT, Interrupted, RunRefused, train
from .train_config import parse


def main(argv=None) -> int:
    config = parse(sys.argv[1:] if argv is None else argv)
    if config.distributed:
        sharding_lib.initialize_distributed()
    try:
        train(config)
    except (RunRefused, checkpoint_lib.CheckpointError) as error:
        raise SystemExit(f"[train] {error}") from None
    except Interrupted as stopped:
        print(stopped, file=sys.stderr, flush=True)
        return 128 + stopped.signum  # the shell's code for a signal
    except KeyboardInterrupt:
        # Before the loop (or a second Ctrl-C in it): nothing was checkpointed just now.
        print(f"\n[train] interrupted; the last checkpoint, if any, is {config.logdir}/"
              f"{CHECKPOINT}", file=sys.stderr, flush=True)
        return 128 + signal.SIGINT
    return 0


if __name__ == "__main__":
    sys.exit(main())
