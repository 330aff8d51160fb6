"""Policy step: one environment step of inference for N envs (encode the observation, one
posterior RSSM step, sample an action), reimpl `policy_step` against the official
`Agent.policy`, both compiled with their parameters on the device."""

from __future__ import annotations

from dataclasses import dataclass

from reimpl.config import preset

from . import programs, report, workload
from .timing import Measurement, measure, progress

# A policy step is short: time ten times as many calls as a train step, for a stable median.
CALLS_PER_REPEAT = 10


@dataclass(frozen=True)
class Result:
    preset: str
    num_envs: int
    side: str
    measurement: Measurement


def run_preset(name: str, batch_size: int, batch_length: int, env_counts: list[int],
               repeats: int, with_official: bool) -> list[Result]:
    """The batch shape only selects the cached official agent the train step built."""
    config = preset(name, batch_size=batch_size, batch_length=batch_length)
    results = []
    for num_envs in env_counts:
        obs = workload.policy_obs(num_envs)
        progress(f"policy step {name} x{num_envs}: building")
        built = [programs.reimpl_policy(config, obs)]
        if with_official:
            built.append(programs.official_policy(programs.official_agent(config, name), obs))
        for program in built:
            label = f"policy step {name} x{num_envs} {program.name}"
            measurement, compiled = measure(program, repeats * CALLS_PER_REPEAT, label)
            programs.assert_float32(compiled, label)
            results.append(Result(name, num_envs, program.name, measurement))
    return results


def table(results: list[Result], repeats: int, official_missing: str | None) -> report.Table:
    timed = report.Table("Policy step", [
        "preset", "envs", "side", "step time", "reimpl/official", "env steps/s", "compile"])
    by_key = {(r.preset, r.num_envs, r.side): r for r in results}
    for r in results:
        m = r.measurement
        official = by_key.get((r.preset, r.num_envs, "official"))
        versus = report.ratio(m, official.measurement) if r.side == "reimpl" and official else ""
        rate = report.spread(r.num_envs / m.median, r.num_envs / m.high, r.num_envs / m.low)
        timed.rows.append([r.preset, str(r.num_envs), r.side, report.duration(m), versus, rate,
                           report.seconds(m.compile_s)])
    timed.notes += [
        f"Median [min-max] of {repeats * CALLS_PER_REPEAT} calls; one call steps every env "
        f"once, mid-episode (the carry is used), sampling the action.",
        "Official: the inner `Agent.policy` program (as `embodied.jax.Agent._policy` compiles "
        "it) with the official policy variables; the outer wrapper's host-side checks and "
        "transfers are not timed, and the reimpl has none.",
    ]
    if official_missing:
        timed.notes.append(f"Official side not run: {official_missing}")
    return timed
