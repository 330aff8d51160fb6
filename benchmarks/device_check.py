"""`python -m benchmarks.device_check`: what a GPU (or TPU) changes, measured in one run and
printed as markdown sections in BENCHMARKS.md's format (`--out` writes them to a file too):

1. train step, reimpl against official, at size12m and size50m, in float32 and in bfloat16
   compute (the official default on GPU), timed in alternating rounds (`timing`);
2. policy step, reimpl against official, float32, 16 envs;
3. the compiled Craftax loop of `reimpl.train` at the crafter train ratio 512: one iteration
   (collect, then the updates due) as split programs called by the host against one fused
   program (`reimpl.train.loop.iterate`), alternating rounds; env steps/s of each;
4. a short Craftax-Classic-Pixels learning run (`reimpl.train.train`, the loop's programs
   already compiled, --fused auto) for --curve-seconds at the fused rate just measured: its
   first curve, episode return and loss by env steps.

Sized for under 8 minutes on one H200-class GPU (not yet measured: no GPU was lent while it was
written); each section prints its own elapsed time so a first run shows where the time goes.
`--smoke` runs every section end to end on the CPU at debug size in a few minutes, with a
Craftax-Classic-Symbolic loop and curve at train ratio 32 (on XLA:CPU a fused program with
convolutions runs 10-50x slower, reimpl/train/loop.py); its figures are not to quote.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import jax

from reimpl import cli
from reimpl.config import PRESETS, preset
from reimpl.train import loop as loop_lib
from reimpl.train.run import fused_on, make_spec, train
from reimpl.train.train_config import TrainConfig

from . import policy_step, programs, report, workload
from .timing import Measurement, measure_interleaved, progress

FULL = {"presets": ("size12m", "size50m"), "batch": (16, 64), "repeats": 5, "policy_envs": 16,
        "loop_env": "Craftax-Classic-Pixels-v1", "loop_preset": "size12m", "num_envs": 8,
        "train_ratio": 512.0, "curve_seconds": 150.0}
SMOKE = {"presets": ("debug",), "batch": (4, 10), "repeats": 2, "policy_envs": 4,
         "loop_env": "Craftax-Classic-Symbolic-v1", "loop_preset": "debug", "num_envs": 4,
         "train_ratio": 32.0, "curve_seconds": 30.0}
DTYPES = ("float32", "bfloat16")
STEPS_PER_COLLECT = 8
CURVE_POINTS = 8


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = cli.Parser(prog="python -m benchmarks.device_check", description=(
        "Train step and policy step (reimpl vs official; float32 and bfloat16), the compiled "
        "loop split vs fused at train ratio 512, and a short Craftax-Classic-Pixels learning "
        "curve, measured in one run on a GPU; markdown on stdout."))
    parser.add_argument("--smoke", action="store_true", help=(
        "CPU end-to-end run at debug size (Classic-Symbolic loop and curve, train ratio 32), "
        "a few minutes; without it a CPU run is refused"))
    parser.add_argument("--curve-seconds", type=float, help=(
        f"length of the learning run, at the measured fused rate (default "
        f"{FULL['curve_seconds']:g}; --smoke: {SMOKE['curve_seconds']:g})"))
    parser.add_argument("--presets", help=(
        f"train and policy step presets, comma-separated (default "
        f"{','.join(FULL['presets'])}; --smoke: {','.join(SMOKE['presets'])})"))
    parser.add_argument("--out", type=Path, help="also write the markdown to this file")
    args = parser.parse_args(argv)
    if not args.smoke and jax.default_backend() == "cpu":
        parser.error("no GPU or TPU here (jax backend cpu); --smoke runs the check at debug "
                     "size on the CPU")
    settings = dict(SMOKE if args.smoke else FULL)
    if args.curve_seconds is not None:
        if args.curve_seconds <= 0:
            parser.error(f"--curve-seconds must be positive, got {args.curve_seconds:g}")
        settings["curve_seconds"] = args.curve_seconds
    if args.presets is not None:
        names = tuple(filter(None, args.presets.split(",")))
        unknown = [name for name in names if name not in PRESETS]
        if unknown or not names:
            parser.error(f"--presets: unknown {', '.join(unknown) or 'none given'}; choose "
                         f"from {', '.join(PRESETS)}")
        settings["presets"] = names
    args.settings = settings
    return args


# --------------------------------------------------------------------------- train step

def _bfloat16(compiled: jax.stages.Compiled) -> str:
    """Whether a compiled program holds bfloat16 values, as the tables report it (a record,
    not a refusal: a GPU run must not end on a dtype XLA chose)."""
    return "yes" if "bf16" in compiled.as_text() else "no"


def _alternated(sides: list, repeats: int, label: str) -> list[str]:
    """reimpl and official timed in alternating rounds -> row cells: each time, the paired
    ratio, each side's bfloat16 presence and compile time."""
    (ours, ours_exe), (theirs, theirs_exe) = measure_interleaved(sides, repeats, label)
    return [report.duration(ours), report.duration(theirs), report.paired_ratio(ours, theirs),
            f"{_bfloat16(ours_exe)} / {_bfloat16(theirs_exe)}",
            f"{report.seconds(ours.compile_s)} / {report.seconds(theirs.compile_s)}"]


def _preset_rows(name: str, settings: dict) -> tuple[list[list[str]], list[str]]:
    """(train step rows, one per compute dtype; the policy step row) of one preset, its
    official agent (variables float32 either way) built once for all of them."""
    batch_size, batch_length = settings["batch"]
    float32_config = preset(name, batch_size=batch_size, batch_length=batch_length)
    official = programs.official_agent(float32_config, name)
    steps = []
    for dtype in DTYPES:
        config = dataclasses.replace(float32_config, compute_dtype=dtype)
        batch = workload.train_batch(config)
        with programs.official_compute_dtype(dtype):  # traced and compiled in the block
            sides = [programs.reimpl_train(config, batch),
                     programs.official_train(official, batch)]
            steps.append([name, dtype, *_alternated(sides, settings["repeats"],
                                                    f"train step {name} {dtype}")])
    envs = settings["policy_envs"]
    obs = workload.policy_obs(envs)
    sides = [programs.reimpl_policy(float32_config, obs), programs.official_policy(official, obs)]
    calls = settings["repeats"] * policy_step.CALLS_PER_REPEAT
    policy = [name, str(envs), *_alternated(sides, calls, f"policy step {name} x{envs}")]
    return steps, policy


HEADER = ["preset", "reimpl", "official", "reimpl/official", "bfloat16 in program "
          "(reimpl / official)", "compile reimpl / official"]


def step_tables(settings: dict) -> tuple[report.Table, report.Table]:
    """Train step (both compute dtypes) and policy step, preset by preset; a preset's
    programs and official agent are dropped before the next (device memory)."""
    batch_size, batch_length = settings["batch"]
    steps = report.Table(f"Train step on the device, batch {batch_size}x{batch_length}",
                         [HEADER[0], "compute", *HEADER[1:]])
    policies = report.Table("Policy step on the device", [HEADER[0], "envs", *HEADER[1:]])
    for name in settings["presets"]:
        rows, policy = _preset_rows(name, settings)
        steps.rows += rows
        policies.rows.append(policy)
        programs.official_agent.cache_clear()
        jax.clear_caches()
    steps.notes.append(
        f"Median [min-max] of {settings['repeats']} alternating rounds (reimpl, official, ...); "
        f"reimpl/official is the median [min-max] of the per-round ratios. Parameters float32 "
        f"on both sides; the compute dtype bfloat16 is the official default on GPU (reimpl: "
        f"--agent compute_dtype=bfloat16); matmul precision is JAX's default on both sides.")
    policies.notes.append(
        f"One call steps every env once, mid-episode, sampling the action; median [min-max] of "
        f"{settings['repeats'] * policy_step.CALLS_PER_REPEAT} alternating calls, float32. "
        f"Official: the inner `Agent.policy` program with the official policy variables.")
    return steps, policies


# ---------------------------------------------------------------------------- the loop

def _loop_config(settings: dict, logdir: str) -> TrainConfig:
    return TrainConfig(env=settings["loop_env"], preset=settings["loop_preset"],
                       num_envs=settings["num_envs"], steps_per_collect=STEPS_PER_COLLECT,
                       train_ratio=settings["train_ratio"], logdir=logdir, checkpoint_minutes=0,
                       checkpoint_every=10**9)


def _filled(compiled, config: TrainConfig, seed: int):
    """A fresh loop state whose next collect leaves the replay ready for updates."""
    state = loop_lib.init_loop(compiled.spec, jax.random.key(seed), config.replay_capacity)
    collect_key = jax.random.key(seed + 1)
    while not loop_lib.ready_after_collect(compiled.spec, state):
        state, _ = compiled.collect(state, collect_key)
    return state


def _split_iteration(compiled, state, keys):
    state, _ = compiled.collect(state, keys[0])
    for key in keys[1:]:
        state, _ = compiled.update(state, key)
    return state


def _fused_iteration(compiled, state, keys):
    return compiled.fused(state, keys[0], keys[1:])[0]


def time_iterations(compiled, config: TrainConfig, repeats: int) -> dict[str, Measurement]:
    """Split and fused iterations of `updates_due` updates, each side's first call (compile
    and run) timed apart, then `repeats` alternating rounds, each waited for."""
    updates = loop_lib.updates_due(compiled.spec.updates, 0) or 1
    keys = jax.random.split(jax.random.key(2), 1 + updates)
    sides = {"split": (_split_iteration, _filled(compiled, config, 0)),
             "fused": (_fused_iteration, _filled(compiled, config, 0))}
    states, first, seconds = {}, {}, {name: [] for name in sides}
    for name, (run, state) in sides.items():
        progress(f"loop {name}: compiling and running one iteration ({updates} updates)")
        start = time.perf_counter()
        states[name] = jax.block_until_ready(run(compiled, state, keys))
        first[name] = time.perf_counter() - start
    progress(f"loop: {repeats} timed rounds of split and fused")
    for _ in range(repeats):
        for name, (run, _) in sides.items():
            start = time.perf_counter()
            states[name] = jax.block_until_ready(run(compiled, states[name], keys))
            seconds[name].append(time.perf_counter() - start)
    return {name: Measurement(first[name], tuple(seconds[name]), None, "not measured")
            for name in sides}


def loop_table(settings: dict, config: TrainConfig, compiled,
               timed: dict[str, Measurement]) -> report.Table:
    env_steps = config.num_envs * config.steps_per_collect
    updates = loop_lib.updates_due(compiled.spec.updates, 0) or 1
    table = report.Table(f"Compiled loop at train ratio {config.train_ratio:g}: split vs fused",
                         ["program", "iteration", "env steps/s", "updates/s", "fused/split",
                          "compile + first iteration"])
    split = timed["split"]
    for name, m in timed.items():
        table.rows.append([
            name, report.duration(m),
            report.spread(env_steps / m.median, env_steps / m.high, env_steps / m.low),
            report.spread(updates / m.median, updates / m.high, updates / m.low),
            report.paired_ratio(m, split) if name == "fused" else "",
            report.seconds(m.compile_s)])
    table.notes.append(
        f"{config.env}, preset {config.preset}, {config.num_envs} envs x {STEPS_PER_COLLECT} "
        f"steps per collect and {updates} updates per iteration (train ratio "
        f"{config.train_ratio:g}, batch {compiled.spec.learner.batch_size}x"
        f"{compiled.spec.learner.batch_length}); median [min-max] of {settings['repeats']} "
        f"alternating rounds. split: one collect program, then each update its own program "
        f"called by the host; fused: one program (reimpl.train.loop.iterate, `--fused on`). The "
        f"split side's collect was compiled before, while filling the replay.")
    return table


# ---------------------------------------------------------------------- learning curve

def _curve(metrics: list[dict]) -> list[list[str]]:
    """Up to CURVE_POINTS rows, each a run of iterations: env steps at its end, episodes
    finished, their mean return, and the mean loss of its updates."""
    size = max(1, -(-len(metrics) // CURVE_POINTS))
    rows = []
    for start in range(0, len(metrics), size):
        part = metrics[start:start + size]
        episodes = sum(m["episodes"] for m in part)
        returns = sum(m["episode/return"] * m["episodes"] for m in part if m["episodes"])
        losses = [m["loss"] for m in part if "loss" in m]
        rows.append([str(part[-1]["env_steps"]), f"{episodes:g}",
                     f"{returns / episodes:.2f}" if episodes else "-",
                     f"{sum(losses) / len(losses):.4g}" if losses else "filling replay"])
    return rows


def curve_table(settings: dict, config: TrainConfig, timed: dict[str, Measurement]
                ) -> report.Table:
    """Trains for curve_seconds at the faster side's measured rate (whole iterations)."""
    per_iteration = config.num_envs * config.steps_per_collect
    side = "fused" if fused_on(config) else "split"
    rate = per_iteration / timed[side].median
    iterations = max(1, int(settings["curve_seconds"] * rate) // per_iteration)
    config = dataclasses.replace(config, env_steps=iterations * per_iteration)
    progress(f"learning run: {config.env_steps} env steps ({side}, ~{rate:.3g} env steps/s)")
    start = time.perf_counter()
    train(config)
    seconds = time.perf_counter() - start
    lines = (Path(config.logdir) / "metrics.jsonl").read_text().splitlines()
    table = report.Table(f"First learning curve, {config.env}", [
        "env steps", "episodes", "mean return", "mean loss"], _curve(list(map(json.loads, lines))))
    table.notes.append(
        f"`python -m reimpl.train --env {config.env} --preset {config.preset} --num-envs "
        f"{config.num_envs} --train-ratio {config.train_ratio:g} --env-steps "
        f"{config.env_steps}` ({side}), {seconds:.0f} s with its programs already compiled "
        f"by the loop timing; return: mean over the episodes finished in each row's iterations.")
    return table


# --------------------------------------------------------------------------------- run

def _stamped(table: report.Table, start: float, what: str = "section") -> report.Table:
    """The table with the time since `start` (compilation included) as a note."""
    seconds = time.perf_counter() - start
    table.notes.append(f"Time of this {what}, compilation included: {seconds:.0f} s.")
    progress(f"{table.title}: {seconds:.0f} s")
    return table


def run(settings: dict, workdir: str) -> list[report.Table]:
    start = time.perf_counter()
    steps, policies = step_tables(settings)
    tables = [_stamped(steps, start, "section and the next"), policies]
    start = time.perf_counter()
    config = _loop_config(settings, workdir)
    compiled = make_spec(config)
    timed = time_iterations(compiled, config, settings["repeats"])
    tables.append(_stamped(loop_table(settings, config, compiled, timed), start))
    start = time.perf_counter()
    tables.append(_stamped(curve_table(settings, config, timed), start))
    return tables


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parse(argv)
    command = shlex.join(["python", "-m", "benchmarks.device_check", *argv])
    header = report.machine()
    progress(f"{command} on {header['device']}")
    with tempfile.TemporaryDirectory(prefix="device_check_") as workdir:
        tables = run(args.settings, str(Path(workdir) / "run"))
    notes = ["Smoke run (--smoke) on the CPU at debug size: not figures to quote."
             ] if args.smoke else []
    text = report.markdown(command, header, tables, notes,
                           "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), "Device check",
                           "python -m benchmarks.device_check")
    print(text, flush=True)
    if args.out:
        args.out.write_text(text)
        progress(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
