"""The official update schedule: how many train steps `embodied/run/train.py` runs.

The official loop steps its envs through `embodied.Driver`, which hands every transition, env
by env, to the callbacks `train.py` registers in this order: `step.increment()`,
`replay.add`, then `trainfn`, which runs nothing while `len(replay)` (the replay's sampleable
sequences, `consec_train * batch_length + replay_context` steps long, counted per worker) is
below `batch_size * batch_length`, and afterwards `should_train(step)` updates, where
`should_train = elements.when.Ratio(train_ratio / (batch_size * batch_length))`.

`official_update_counts` runs that loop for real (the official Driver, Replay, Counter and
Ratio) with environments that emit empty transitions and a trainfn that counts instead of
training, until the replay holds `batch_size * batch_length` sequences; from then on
`len(replay)` only grows (the capacity, 5e6 in configs.yaml, is at least
`batch_size * length` by the official assert), so the rest of the run needs only the step
counter and the Ratio, and skips the replay for speed (tests/test_official_schedule.py checks
that this equals the whole loop).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .loader import load
from .official_config import TOP_LEVEL_DEFAULTS

# configs.yaml `defaults` (train.py's replay, built by main.py `make_replay`).
CONSEC_TRAIN = 1
REPLAY = {"capacity": int(5e6), "online": True, "chunksize": 1024}


@dataclass(frozen=True)
class OfficialSchedule:
    counts: np.ndarray  # [env_steps // every] cumulative updates after every `every` steps
    first_update_step: int  # the env step whose trainfn ran the first update (0: none ran)


def _counting_env():
    import elements
    import embodied

    class CountingEnv(embodied.Env):
        """Transitions with no content: the schedule depends only on how many arrive."""

        obs_space = {"reward": elements.Space(np.float32), "is_first": elements.Space(bool),
                     "is_last": elements.Space(bool), "is_terminal": elements.Space(bool)}
        act_space = {"action": elements.Space(np.int32, (), 0, 2),
                     "reset": elements.Space(bool)}

        def step(self, action):
            return {"reward": np.float32(0.0), "is_first": bool(action["reset"]),
                    "is_last": False, "is_terminal": False}

    return CountingEnv


def official_update_counts(train_ratio: float, envs: int, batch_size: int, batch_length: int,
                           env_steps: int, every: int, whole_loop: bool = False
                           ) -> OfficialSchedule:
    """Cumulative official updates after every `every` env steps (a multiple of `envs`, the
    transitions of one Driver step). `whole_loop` keeps the Driver and replay running to the
    end instead of stopping them once training has started (slow; for the test of that)."""
    if every % envs:
        raise ValueError(f"every={every} must be a multiple of envs={envs}: the official "
                         f"Driver hands over the transitions of all envs at once")
    load()  # puts the official sources on sys.path
    import elements
    import embodied

    batch_steps = batch_size * batch_length
    length = CONSEC_TRAIN * batch_length + TOP_LEVEL_DEFAULTS["replay_context"]
    replay = embodied.replay.Replay(length, **REPLAY)
    step = elements.Counter()
    should_train = elements.when.Ratio(train_ratio / batch_steps)
    total, first = [0], [0]

    def train_count(updates: int) -> None:
        if updates and not first[0]:
            first[0] = int(step)
        total[0] += updates

    def trainfn(tran, worker):
        if len(replay) < batch_steps:
            return
        train_count(should_train(step))

    driver = embodied.Driver([_counting_env()] * envs, parallel=False)
    driver.on_step(lambda tran, _: step.increment())
    driver.on_step(replay.add)
    driver.on_step(trainfn)
    driver.reset()
    counts = []

    def policy(carry, obs):
        return carry, {"action": np.zeros(envs, np.int32)}, {}

    while int(step) < env_steps and (whole_loop or len(replay) < batch_steps):
        driver(policy, steps=envs)
        if int(step) % every == 0:
            counts.append(total[0])
    while int(step) < env_steps:
        step.increment()
        train_count(should_train(step))
        if int(step) % every == 0:
            counts.append(total[0])
    driver.close()
    return OfficialSchedule(np.asarray(counts), first[0])
