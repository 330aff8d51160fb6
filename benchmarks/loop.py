"""The compiled Craftax training loop of `reimpl.train`: env steps/s and updates/s at a train
ratio, and the share of time spent collecting (policy + env step + replay write) against
updating (replay sample + train step).

An iteration of `reimpl.train` is one compiled collect (envs x steps-per-collect env steps)
followed by U compiled updates, called back to back by the host, U set by the train ratio
(`reimpl.train.loop.updates_per_iteration`). So the two programs are timed separately, on the very
functions `reimpl.train.make_spec` compiles, and each ratio's rates follow from
t_iteration = t_collect + U * t_update: a ratio of 512 needs no hundreds of updates timed.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax

from reimpl.train import loop as loop_lib
from reimpl.train.run import make_spec
from reimpl.train.train_config import TrainConfig

from . import report
from .timing import Measurement, Program, measure, progress

TRAIN_RATIOS = (32, 512)


@dataclass(frozen=True)
class Result:
    config: TrainConfig
    batch_size: int
    batch_length: int
    collect: Measurement
    update: Measurement


def run_preset(name: str, repeats: int, seed: int = 0) -> Result:
    """The `python -m reimpl.train` defaults (Craftax-Classic-Pixels, 8 envs, 8 steps per
    collect, replay capacity 2048) with the given agent preset."""
    config = TrainConfig(preset=name, seed=seed)
    jitted = make_spec(config)
    spec = jitted.spec
    init_key, collect_key, update_key = jax.random.split(jax.random.key(seed), 3)
    progress(f"loop {name}: building ({config.env}, {config.num_envs} envs)")
    # Both programs donate the state (reimpl.train): each timed call gets the last one's.
    state = loop_lib.init_loop(spec, init_key, config.replay_capacity)
    collect, collect_exe = measure(
        Program("collect", jitted.collect, (loop_lib.own_buffers(state), collect_key),
                chained=True), repeats, f"loop {name} collect")
    filled = 0
    while not loop_lib.ready(spec, state):  # updates sample full sequences
        state, _ = collect_exe(state, jax.random.fold_in(collect_key, filled))
        filled += 1
    update, _ = measure(Program("update", jitted.update, (state, update_key), chained=True),
                        repeats, f"loop {name} update")
    agent_config = spec.agent.config
    return Result(config, agent_config.batch_size, agent_config.batch_length, collect, update)


def _rates(r: Result, updates: float, collect_s: float, update_s: float) -> tuple[float, ...]:
    iteration = collect_s + updates * update_s
    env_steps = r.config.num_envs * r.config.steps_per_collect
    return env_steps / iteration, updates / iteration, 100 * collect_s / iteration


def table(results: list[Result], repeats: int) -> report.Table:
    timed = report.Table("Compiled Craftax loop (reimpl)", [
        "preset", "train ratio", "updates/iteration", "env steps/s", "updates/s",
        "collect share", "collect call", "update call", "compile collect/update"])
    for r in results:
        for train_ratio in TRAIN_RATIOS:
            updates = loop_lib.updates_per_iteration(
                train_ratio, r.config.num_envs, r.config.steps_per_collect, r.batch_size,
                r.batch_length)
            median = _rates(r, updates, r.collect.median, r.update.median)
            slow = _rates(r, updates, r.collect.high, r.update.high)
            fast = _rates(r, updates, r.collect.low, r.update.low)
            # A slower collect raises its share; a slower update lowers it.
            share_low = _rates(r, updates, r.collect.low, r.update.high)[2]
            share_high = _rates(r, updates, r.collect.high, r.update.low)[2]
            timed.rows.append([
                r.config.preset, str(train_ratio), f"{updates:g}",
                report.spread(median[0], slow[0], fast[0]),
                report.spread(median[1], slow[1], fast[1]),
                report.spread(median[2], share_low, share_high, "%"),
                report.duration(r.collect), report.duration(r.update),
                f"{report.seconds(r.collect.compile_s)} / {report.seconds(r.update.compile_s)}",
            ])
    if results:
        c = results[0].config
        timed.notes.append(
            f"{c.env}, {c.num_envs} envs x {c.steps_per_collect} steps per collect; collect "
            f"and update each timed over {repeats} calls (median [min-max]); iteration rates "
            f"from t_collect + U x t_update (see benchmarks/loop.py), ranges from the fastest "
            f"and slowest calls.")
    return timed
