"""Train step (world model, imagination, actor-critic, optimizer update, slow critic): the
reimpl against the official agent at the same preset, batch, spaces and float32, in one
process, both sampling as in training."""

from __future__ import annotations

from dataclasses import dataclass

from reimpl.config import preset

from . import flops, programs, report, workload
from .timing import Measurement, Program, measure_interleaved, progress


@dataclass(frozen=True)
class Result:
    preset: str
    side: str  # reimpl or official
    measurement: Measurement
    xla_temp_bytes: int | None  # XLA's buffer assignment: scratch beyond inputs and outputs
    xla_flops: float | None
    counted: flops.JaxprCount | None  # None unless FLOPs were asked for


def _result(preset_name: str, program: Program, measurement: Measurement, compiled,
            count_flops: bool) -> Result:
    label = f"train step {preset_name} {program.name}"
    programs.assert_float32(compiled, label)
    memory = compiled.memory_analysis()
    counted = None
    if count_flops:
        progress(f"{label}: counting FLOPs in the jaxpr")
        counted = flops.jaxpr_flops(program)
    return Result(preset_name, program.name, measurement,
                  getattr(memory, "temp_size_in_bytes", None), flops.xla_flops(compiled),
                  counted)


def run_preset(name: str, batch_size: int, batch_length: int, repeats: int,
               with_official: bool, count_flops: bool) -> list[Result]:
    """Both sides built first, then timed in alternating rounds (`measure_interleaved`)."""
    config = preset(name, batch_size=batch_size, batch_length=batch_length)
    batch = workload.train_batch(config)
    progress(f"train step {name} reimpl: building")
    sides = [programs.reimpl_train(config, batch)]
    if with_official:
        progress(f"train step {name} official: building (official init)")
        sides.append(programs.official_train(programs.official_agent(config, name), batch))
    measured = measure_interleaved(sides, repeats, f"train step {name}")
    return [_result(name, program, measurement, compiled, count_flops)
            for program, (measurement, compiled) in zip(sides, measured, strict=True)]


def table(results: list[Result], batch_size: int, batch_length: int, repeats: int,
          official_missing: str | None) -> report.Table:
    timed = report.Table(
        f"Train step, batch {batch_size}x{batch_length}",
        ["preset", "side", "step time", "reimpl/official", "compile", "peak memory",
         "XLA temp buffers"])
    by_preset = {(r.preset, r.side): r for r in results}
    for r in results:
        official = by_preset.get((r.preset, "official"))
        versus = (report.paired_ratio(r.measurement, official.measurement)
                  if r.side == "reimpl" and official else "")
        timed.rows.append([r.preset, r.side, report.duration(r.measurement), versus,
                           report.seconds(r.measurement.compile_s),
                           report.size(r.measurement.peak_bytes), report.size(r.xla_temp_bytes)])
    methods = sorted({r.measurement.memory_method for r in results})
    timed.notes += [
        f"Median [min-max] of {repeats} calls of the compiled step on device-resident state, "
        f"waiting for every output; compile = trace + lower + XLA compile. The two sides are "
        f"called in alternation (reimpl, official, reimpl, ...), and reimpl/official is the "
        f"median [min-max] of the {repeats} per-round ratios, so drift of the machine during "
        f"the run does not favour the side timed first.",
        f"Both sides train on {batch_size}x{batch_length} steps after 1 replay-context step, "
        f"64x64x3 uint8 images and 17 discrete actions, sampling as in training; both compiled "
        f"programs checked free of bfloat16 (float32).",
        f"Peak memory: {'; '.join(methods)}. XLA temp buffers: the compiled program's scratch "
        f"memory beyond its inputs and outputs (XLA buffer assignment).",
    ]
    if official_missing:
        timed.notes.append(f"Official side not run: {official_missing}")
    return timed
