"""[CONFIG]: the update schedule, as replayed steps per environment step.

The official `train_ratio` counts replayed steps (batch_size x batch_length per update) per
environment step. A target states its schedule as `update_schedule(train_ratio, envs,
steps_per_collect, batch_size, batch_length, iterations)`: its cumulative updates after each
collect phase. Over a long simulated run the total must match the official loop's
(reference_adapter.schedule), whose `Ratio` carries fractions of an update from one call to
the next.
"""

from __future__ import annotations

import numpy as np
import pytest

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


@pytest.mark.parametrize("name", sorted(SCHEDULES), ids=sorted(SCHEDULES))
def test_schedule_updates_match_the_official_ratio(name, official, target, parity):
    check = f"schedule/updates/{name}"
    ratio, envs, steps, batch_size, batch_length = SCHEDULES[name]
    description = (f"updates over {ENV_STEPS} env steps at train_ratio {ratio}, {envs} envs x "
                   f"{steps} steps per collect, batch {batch_size}x{batch_length}")
    fn = parity.piece(target, "update_schedule", check, "CONFIG", description)
    per_collect = envs * steps
    ref = schedule.official_update_counts(ratio, batch_size, batch_length, ENV_STEPS,
                                          per_collect)[-1]
    ours = np.asarray(fn(ratio, envs, steps, batch_size, batch_length,
                         ENV_STEPS // per_collect))[-1]
    parity.check(check, "CONFIG", description, np.float64(ours), np.float64(ref), "schedule")
