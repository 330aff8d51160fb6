"""The adapter's official schedule (reference_adapter/schedule.py): its shortcut after the
replay is ready equals the whole official loop, and training starts where the official replay
first holds batch_size x batch_length sequences."""

from __future__ import annotations

import numpy as np
import pytest

from parity_tests.conftest import _reference_or_fail
from reference_adapter import schedule


@pytest.fixture(scope="module")
def official():
    return _reference_or_fail()


# id: (train_ratio, envs, batch_size, batch_length, every)
CASES = {"16envs": (512, 16, 16, 64, 64), "1env": (512, 1, 16, 64, 64),
         "fractional": (32, 16, 16, 64, 16), "debug": (8, 4, 8, 10, 4)}


@pytest.mark.parametrize("case", sorted(CASES), ids=sorted(CASES))
def test_shortcut_equals_the_whole_official_loop(case, official):
    ratio, envs, batch_size, batch_length, every = CASES[case]
    fast = schedule.official_update_counts(ratio, envs, batch_size, batch_length, 6000, every)
    whole = schedule.official_update_counts(ratio, envs, batch_size, batch_length, 6000, every,
                                            whole_loop=True)
    np.testing.assert_array_equal(fast.counts, whole.counts)
    assert fast.first_update_step == whole.first_update_step > 0


@pytest.mark.parametrize("case", sorted(CASES), ids=sorted(CASES))
def test_training_starts_when_the_replay_holds_a_batch_of_sequences(case, official):
    """Each env's first `length - 1` steps complete no sequence (length = batch_length + 1):
    the first update runs at env step batch_size * batch_length + envs * batch_length."""
    ratio, envs, batch_size, batch_length, every = CASES[case]
    result = schedule.official_update_counts(ratio, envs, batch_size, batch_length, 6000, every)
    assert result.first_update_step == batch_size * batch_length + envs * batch_length


def _misread(name: str, ratio, envs, steps, batch_size, batch_length, iterations):
    per_collect = ratio * envs * steps / (batch_size * batch_length)
    counts = {
        "batch-length-forgotten": np.floor(np.arange(1, iterations + 1) * per_collect
                                           * batch_length),
        "ratio-1%-high": np.floor(np.arange(1, iterations + 1) * per_collect * 1.01),
        "fraction-floored-per-collect": np.arange(1, iterations + 1) * np.floor(per_collect),
    }[name]
    return counts.astype(np.int64)


@pytest.mark.parametrize("mistake", ["batch-length-forgotten", "ratio-1%-high",
                                     "fraction-floored-per-collect"])
def test_schedule_bound_catches_a_misread_ratio(mistake, official):
    """The 'schedule' bound (prefill + one collect phase + 1) leaves room for the official
    prefill only: schedules that drift from the official ratio leave it, and the check's
    failure text names the first iteration beyond it."""
    from parity_tests.test_schedule import ENV_STEPS, SCHEDULES, _first_beyond, bound

    ratio, envs, steps, batch_size, batch_length = SCHEDULES["fractional"]
    per_collect = envs * steps
    run = schedule.official_update_counts(ratio, envs, batch_size, batch_length, ENV_STEPS,
                                          per_collect)
    ours = _misread(mistake, ratio, envs, steps, batch_size, batch_length,
                    ENV_STEPS // per_collect)
    limit = bound(ratio, envs, steps, batch_size, batch_length, run.first_update_step)
    assert (np.abs(ours - run.counts) > limit).any()
    assert _first_beyond(ours, run.counts, limit, per_collect).startswith(
        f"first beyond the bound of {limit:.1f} updates at iteration ")
