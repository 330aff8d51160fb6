"""[CONFIG]: the update schedule, as replayed steps per environment step.

The official `train_ratio` counts replayed steps (batch_size x batch_length per update) per
environment step. A target states its schedule as `update_schedule(train_ratio, envs,
steps_per_collect, batch_size, batch_length, iterations)`: its cumulative updates after each
collect phase. After every collect phase of a long simulated run, its count must be within the
'schedule' bound (parity_tests/tolerances.py) of the official loop's at the same env step:
`embodied/run/train.py` run for real by reference_adapter.schedule (the official Driver,
Replay and `elements.when.Ratio`, which carries fractions of an update from call to call).
"""

from __future__ import annotations

import numpy as np
import pytest

from parity_tests import tolerances
from reference_adapter import schedule

ENV_STEPS = 400_000
# id: (train_ratio, envs, steps_per_collect, batch_size, batch_length)
SCHEDULES = {
    "cpu-default": (32, 8, 8, 8, 32),  # reimpl.train's defaults
    "atari": (32, 16, 64, 16, 64),
    "crafter": (512, 1, 64, 16, 64),
    "crafter-16envs": (512, 16, 4, 16, 64),
    "fractional": (32, 16, 1, 16, 64),  # 0.5 updates per collect
}


def bound(train_ratio, envs, steps, batch_size, batch_length, first_update_step) -> float:
    """Updates the official loop skips while its replay fills, plus one collect phase's, plus
    the tolerance's rounding (tolerances.py 'schedule')."""
    per_env_step = train_ratio / (batch_size * batch_length)
    return ((first_update_step + envs * steps) * per_env_step
            + tolerances.get("schedule").atol)


def _first_beyond(ours, ref, limit, per_collect) -> str:
    difference = np.abs(ours.astype(np.int64) - ref)
    i = int(np.argmax(difference > limit))
    worst = int(np.argmax(difference))
    return (f"first beyond the bound of {limit:.1f} updates at iteration {i} (after "
            f"{(i + 1) * per_collect} env steps): ours {ours[i]}, official {ref[i]}; largest "
            f"difference {difference[worst]} at iteration {worst}; final ours {ours[-1]}, "
            f"official {ref[-1]}")


@pytest.mark.parametrize("name", sorted(SCHEDULES), ids=sorted(SCHEDULES))
def test_schedule_updates_match_the_official_ratio(name, official, target, parity):
    check = f"schedule/updates/{name}"
    ratio, envs, steps, batch_size, batch_length = SCHEDULES[name]
    description = (f"cumulative updates after every collect phase over {ENV_STEPS} env steps "
                   f"at train_ratio {ratio}, {envs} envs x {steps} steps per collect, batch "
                   f"{batch_size}x{batch_length}, against the official loop")
    fn = parity.piece(target, "update_schedule", check, "CONFIG", description)
    per_collect = envs * steps
    iterations = ENV_STEPS // per_collect
    official_run = schedule.official_update_counts(ratio, envs, batch_size, batch_length,
                                                   ENV_STEPS, per_collect)
    ref = official_run.counts
    ours = np.asarray(fn(ratio, envs, steps, batch_size, batch_length, iterations))
    limit = bound(ratio, envs, steps, batch_size, batch_length, official_run.first_update_step)
    if ours.shape != ref.shape:
        parity.verdict(check, "CONFIG", description, False,
                       f"{ours.shape} cumulative counts for {iterations} iterations")
        return
    difference = ours.astype(np.int64) - ref
    worst = int(np.argmax(np.abs(difference)))
    measured = (f"ours - official from {difference.min()} to {difference.max()} updates "
                f"(largest at iteration {worst}) in {iterations} iterations, bound "
                f"{limit:.1f} (official first update at env step "
                f"{official_run.first_update_step}); final ours {ours[-1]}, official {ref[-1]}")
    parity.verdict(check, "CONFIG", description, bool((np.abs(difference) <= limit).all()),
                   _first_beyond(ours, ref, limit, per_collect), measured)
