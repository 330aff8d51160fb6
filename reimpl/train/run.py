"""A training run, as `python -m reimpl.train` starts it (reimpl/train/__main__.py): DreamerV3
on Craftax; env stepping and updates compiled by XLA. The agent is a learner
(reimpl/train/learner.py): the reimpl's by default, another by `--learner`. `--devices N`
trains data-parallel over N devices (reimpl/train/sharding.py); `--fused` compiles an
iteration's collect and updates as one program (reimpl/train/loop.py), by default off XLA:CPU.

The host loop only logs (progress line, JSONL and TensorBoard scalars, open-loop prediction
images) and checkpoints the whole loop state (agent, optimizer, envs, replay, RNG key,
achievement tally) so `--resume` continues exactly where a run stopped.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from ..config import override, preset
from . import checkpoint as checkpoint_lib
from . import envs as envs_lib
from . import learner as learner_lib
from . import loop as loop_lib
from . import metrics_log
from . import openloop as openloop_lib
from . import progress as progress_lib
from . import ratio as ratio_lib
from . import replay as replay_lib
from . import sharding as sharding_lib
from .train_config import (
    MAY_CHANGE_ON_RESUME,
    RUN_ON,
    TrainConfig,
    changed_on_resume,
    command_line,
    flag,
    stored_config,
    upgraded,
)


def _report(spec: loop_lib.LoopSpec, state: loop_lib.LoopState, key: jax.Array):
    """Open-loop predictions on a fresh replayed batch: {image key: uint8 [B, 3, T, ...]}."""
    sample_key, openloop_key = jax.random.split(key)
    learner = spec.learner
    batch = replay_lib.sample(state.replay, sample_key,
                              min(openloop_lib.SEQUENCES, learner.batch_size),
                              spec.sequence_length)
    return learner.openloop(state.agent, batch, openloop_key, learner.batch_length // 2)


class Compiled(NamedTuple):
    spec: loop_lib.LoopSpec
    collect: Any  # jitted loop.collect(state, key), state donated
    update: Any  # jitted loop.update(state, key), state donated
    fused: Any  # jitted loop.iterate(state, collect key, update keys [U]), state donated
    report: Any  # jitted _report(state, key); None where the learner has no open-loop report
    # Where the loop state lives (reimpl.train.sharding.loop_shardings); None on one device.
    state_sharding: Any = None


def _state_sharding(spec: loop_lib.LoopSpec, layout: sharding_lib.Layout):
    """The LoopState of shardings, from the state's structure traced at capacity 1."""
    shapes = jax.eval_shape(functools.partial(loop_lib.init_loop, spec, capacity=1),
                            jax.random.key(0))
    return sharding_lib.loop_shardings(layout, shapes, spec.num_envs)


def _compile(env: envs_lib.Env, learner: learner_lib.Learner, num_envs: int, steps: int,
             ratio: float, devices: int = 1) -> Compiled:
    updates = loop_lib.updates_per_iteration(
        ratio, num_envs, steps, learner.batch_size, learner.batch_length)
    layout = None if devices == 1 else sharding_lib.layout(devices)
    spec = loop_lib.LoopSpec(learner, env, num_envs, steps, updates,
                             None if layout is None else layout.split)
    programs = [functools.partial(fn, spec)
                for fn in (loop_lib.collect, loop_lib.update, loop_lib.iterate)]
    report = None if learner.openloop is None else functools.partial(_report, spec)
    if layout is None:
        # The loop state is donated: the replay is written in place, not copied per call
        # (loop.own_buffers); a caller must not use a state after passing it.
        jitted = [jax.jit(program, donate_argnums=0) for program in programs]
        return Compiled(spec, *jitted, report if report is None else jax.jit(report))
    # The state keeps its sharding through every program; keys and metrics are replicated.
    # Each program takes the state and k keys and returns the state and k summaries.
    state, whole = _state_sharding(spec, layout), layout.replicated
    jitted = [jax.jit(program, donate_argnums=0, in_shardings=(state, *[whole] * k),
                      out_shardings=(state, *[whole] * k))
              for program, k in zip(programs, (1, 1, 2), strict=True)]
    if report is not None:
        report = jax.jit(report, in_shardings=(state, whole), out_shardings=whole)
    return Compiled(spec, *jitted, report, state)


@functools.cache
def _compiled(env_name: str, max_episode_steps: int, preset_name: str, overrides: str,
              learner_name: str, num_envs: int, steps: int, ratio: float,
              devices: int) -> Compiled:
    """The loop spec and its jitted programs, shared by runs of the same shape (a resumed run
    in the same process compiles nothing). Raises LearnerUnavailable."""
    env = envs_lib.make_env(env_name, max_timesteps=max_episode_steps or None)
    learner = learner_lib.build(learner_name, env.obs_space, env.act_space,
                                override(preset(preset_name), overrides))
    return _compile(env, learner, num_envs, steps, ratio, devices)


def make_spec(config: TrainConfig, learner: learner_lib.Learner | None = None) -> Compiled:
    """The compiled loop for `config`, with `learner` (built for config.env's spaces) in place
    of the one config.learner names."""
    if learner is not None:
        env = envs_lib.make_env(config.env, max_timesteps=config.max_episode_steps or None)
        return _compile(env, learner, config.num_envs, config.steps_per_collect,
                        config.train_ratio, config.devices)
    return _compiled(config.env, config.max_episode_steps, config.preset, config.agent,
                     config.learner, config.num_envs, config.steps_per_collect,
                     config.train_ratio, config.devices)


def fused_on(config: TrainConfig) -> bool:
    """--fused auto: one program per iteration on accelerators, split on XLA:CPU."""
    return config.fused == "on" or (config.fused == "auto" and jax.default_backend() != "cpu")


class RunRefused(Exception):
    """A run that must not start as asked (the message says why and what to do instead)."""


CHECKPOINT = "checkpoint.msgpack"
# Everything a run writes into its logdir, by what it is; --overwrite deletes these only.
RUN_FILES = {CHECKPOINT: "checkpoint", "checkpoint.tmp": "unfinished checkpoint",
             "metrics.jsonl": "metrics.jsonl", "config.json": "config.json",
             "events.out.tfevents.*": "TensorBoard events",
             "openloop/iter_*.png": "open-loop images"}


def _claim_logdir(config: TrainConfig) -> list[Path]:
    """The files of an earlier run that --overwrite deletes; refuses to start over a run
    otherwise, and to resume without a checkpoint. Touches nothing."""
    logdir = Path(config.logdir)
    found = {label: sorted(logdir.glob(pattern)) for pattern, label in RUN_FILES.items()}
    names = ", ".join(label for label, paths in found.items() if paths)
    if config.resume:
        if not (logdir / CHECKPOINT).is_file():
            fix = (f"it holds {names} of a run that stopped before its first checkpoint: pass "
                   "--overwrite instead to start again" if names else "start without --resume")
            raise RunRefused(f"--resume: no checkpoint at {logdir / CHECKPOINT}; {fix}")
        return []
    if names and not config.overwrite:
        raise RunRefused(f"{logdir} already holds a run ({names}): continue it with --resume, "
                         "choose another --logdir, or pass --overwrite to delete it")
    return [path for paths in found.values() for path in paths]


def _resumable(config: TrainConfig) -> dict[str, Any]:
    """The raw checkpoint to resume from, once its stored config is this run's but for
    MAY_CHANGE_ON_RESUME; reads the file, builds nothing."""
    path = Path(config.logdir) / CHECKPOINT
    raw = checkpoint_lib.read(path)
    changed = changed_on_resume(raw["config"], config)
    if changed:
        may = ", ".join(map(flag, MAY_CHANGE_ON_RESUME))
        try:
            fix = "resume it with: " + command_line(dataclasses.replace(
                TrainConfig(**upgraded(raw["config"])), logdir=config.logdir, resume=True,
                **{name: getattr(config, name) for name in (*MAY_CHANGE_ON_RESUME, *RUN_ON)}))
        except (TypeError, ValueError):
            fix = "resume it with the options it was started with"
        raise RunRefused(f"--resume: {path} is a run with {'; '.join(changed)}. Only {may} may "
                         f"change on resume; {fix}; or start a new run in another --logdir")
    return raw


def _scalars(metrics) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if np.ndim(v) == 0}


def _updates(compiled: Compiled, state, keys, fused: bool):
    """keys [1 + U]: collect with the first, then U updates (none before the replay is ready)
    -> (state, episode summary, [per-update metrics]); fused, all in one program."""
    spec = compiled.spec
    if fused and len(keys) > 1 and loop_lib.ready_after_collect(spec, state):
        state, collected, stacked = compiled.fused(state, keys[0], keys[1:])
        stacked = {k: np.asarray(v) for k, v in stacked.items()}
        return state, collected, [{k: float(v[i]) for k, v in stacked.items()}
                                  for i in range(len(keys) - 1)]
    collect_key, *update_keys = keys
    state, collected = compiled.collect(state, collect_key)
    history = []
    if loop_lib.ready(spec, state):
        for update_key in update_keys:
            state, update_metrics = compiled.update(state, update_key)
            history.append(_scalars(update_metrics))
    return state, collected, history


def _iteration(compiled: Compiled, state, key, tally, names, fused: bool = False):
    spec = compiled.spec
    iteration = int(state.env_steps) // (spec.num_envs * spec.steps_per_collect)
    due = loop_lib.updates_due(spec.updates, iteration)
    keys = jax.random.split(key, 2 + due)
    state, collected, history = _updates(compiled, state, keys[1:], fused)
    metrics = _scalars(collected)
    if not metrics["episodes"]:  # their 0 would read as a measured return of 0
        metrics = {k: v for k, v in metrics.items() if k not in metrics_log.EPISODE_KEYS}
    tally = metrics_log.add_episodes(tally, collected["achievement_counts"],
                                     collected["episodes"])
    metrics.update(metrics_log.achievement_metrics(names, tally.counts, tally.episodes))
    if history:
        metrics.update({k: float(np.mean([h[k] for h in history])) for k in history[0]})
    metrics["updates"] = len(history)
    return state, metrics, keys[0], tally


def _write_openloop(log: metrics_log.MetricsLog, report_fn, state, key, iteration: int,
                    context: int) -> None:
    # fold_in leaves the training key sequence as it is: reports do not change the run.
    videos = report_fn(state, jax.random.fold_in(key, iteration))
    picture = openloop_lib.grid(np.asarray(videos["image"]), context)
    openloop_lib.write_png(log.logdir / "openloop" / f"iter_{iteration:06d}.png", picture)
    log.image("openloop/image", int(state.env_steps), picture)


def _progress(metrics: dict[str, float]) -> str:
    """An iteration's metrics as the progress display shows them after its figures."""
    loss = f"loss {metrics['loss']:.3g}" if "loss" in metrics else "filling replay"
    mean = metrics.get("episode/return")
    episodes = f"return {'-' if mean is None else f'{mean:.2f}'} ({int(metrics['episodes'])} ep)"
    return f"{loss}, {episodes}"


class Interrupted(Exception):
    """SIGINT or SIGTERM stopped the run after a checkpoint; the message says how to go on."""

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.signum = signum


class _StopRequests:
    """While entered, SIGINT and SIGTERM ask the loop to stop at the next iteration boundary
    (`.signum`); a second SIGINT stops at once (KeyboardInterrupt), as Ctrl-C used to."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signum: int | None = None
        self._previous = {}

    def _request(self, signum, frame) -> None:
        self.signum = signum
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print(f"\n[train] {signal.Signals(signum).name}: stopping after this iteration with a "
              "checkpoint (Ctrl-C again stops at once, without one)", file=sys.stderr, flush=True)

    def __enter__(self) -> _StopRequests:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._request) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _check_agent(config: TrainConfig, learner: learner_lib.Learner) -> None:
    """Traces the learner's initialisation (no compilation, well under a second for the
    reimpl), so an --agent value the networks cannot take (an unknown activation, a deter that
    does not split into blocks) is refused before the slow initialisation and compilation."""
    try:
        jax.eval_shape(learner.init, jax.random.key(0))
    except Exception as error:  # whatever the networks raise on a value they cannot take
        if not config.agent:
            raise  # the preset itself does not build: a bug, keep the traceback
        raise RunRefused(f"--agent {config.agent!r}: the agent does not build with it "
                         f"({type(error).__name__}: {error})") from error


def _start(config: TrainConfig, learner: learner_lib.Learner | None):
    """(compiled, loop state, key, tally) to train from: fresh, or restored for --resume.
    Every refusal comes before the env is built; the logdir changes only after them all."""
    logdir = Path(config.logdir)
    if config.devices > 1:
        problem = (sharding_lib.device_refusal(config.devices) or sharding_lib.split_refusal(
            config.devices, config.num_envs, override(preset(config.preset),
                                                      config.agent).batch_size))
        if problem:
            raise RunRefused(problem)
    try:
        if learner is None:
            learner_lib.load_factory(config.learner)
        earlier_run = _claim_logdir(config)
        raw = _resumable(config) if config.resume else None
        compiled = make_spec(config, learner)
    except learner_lib.LearnerUnavailable as error:
        raise RunRefused(f"--learner {error}") from error
    problem = sharding_lib.split_refusal(config.devices, config.num_envs,
                                         compiled.spec.learner.batch_size)
    if problem:  # a learner given as an object, with its own batch size
        raise RunRefused(problem)
    _check_agent(config, compiled.spec.learner)
    for path in earlier_run:
        path.unlink()
    logdir.mkdir(parents=True, exist_ok=True)
    key, init_key = jax.random.split(jax.random.key(config.seed))
    state = loop_lib.init_loop(compiled.spec, init_key, config.replay_capacity)
    tally = metrics_log.empty_tally(len(envs_lib.achievement_names(compiled.spec.env)))
    if raw is not None:
        state, key, tally = checkpoint_lib.restore(logdir / CHECKPOINT, raw, state, key, tally)
        state = loop_lib.own_buffers(state)
        # A run stopped after its last checkpoint logged iterations it now runs again.
        metrics_log.truncate(logdir, int(state.env_steps))
    if compiled.state_sharding is not None:
        state = jax.device_put(state, compiled.state_sharding)
    (logdir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=2))
    return compiled, state, key, tally


def _announce(config: TrainConfig, spec: loop_lib.LoopSpec) -> None:
    effective = ratio_lib.train_ratio(
        config.num_envs, config.steps_per_collect, spec.updates,
        spec.learner.batch_size, spec.learner.batch_length)
    agent = f" with {config.agent}" if config.agent else ""
    learner = "" if config.learner == learner_lib.DEFAULT else f", learner {config.learner}"
    devices = f" on {config.devices} devices" if config.devices > 1 else ""
    fused = ", one program per iteration (--fused)" if fused_on(config) else ""
    print(f"[train] {config.env}, preset {config.preset}{agent}{learner}, {config.num_envs} "
          f"envs{devices}, {spec.updates:g} updates per "
          f"{config.num_envs * config.steps_per_collect} env steps on average (train ratio "
          f"{effective:g}){fused}; compiling...", flush=True)
    if not spec.env.pixels:
        print(f"[train] no open-loop images: {config.env} has no image observation", flush=True)
    elif spec.learner.openloop is None:
        print("[train] no open-loop images: the learner has no open-loop report", flush=True)


def train(config: TrainConfig, learner: learner_lib.Learner | None = None) -> dict[str, float]:
    """Run; returns the metrics of the last iteration. `learner` (built for config.env's
    spaces) replaces the one config.learner names, which the checkpoint still records. Raises
    Interrupted after SIGINT or SIGTERM, once the checkpoint is written."""
    compiled, state, key, tally = _start(config, learner)
    spec, logdir = compiled.spec, Path(config.logdir)
    _announce(config, spec)
    names = envs_lib.achievement_names(spec.env)
    path, stored = logdir / CHECKPOINT, stored_config(config)
    per_iteration = config.num_envs * config.steps_per_collect
    started, start_steps, last = time.time(), int(state.env_steps), {}
    saved = time.monotonic()
    resumed_at = start_steps if config.resume else None
    fused = fused_on(config)
    with (metrics_log.MetricsLog(logdir, resumed_at) as log, _StopRequests() as stop,
          progress_lib.Progress("[train]", config.env_steps, "env steps") as progress):
        while int(state.env_steps) < config.env_steps:
            state, metrics, key, tally = _iteration(compiled, state, key, tally, names, fused)
            # Counted from the run's start, so a resumed run keeps the cadence and file names.
            iteration = int(state.env_steps) // per_iteration
            last = {"env_steps": int(state.env_steps), **metrics}
            log.scalars(last["env_steps"], metrics)
            progress.update(last["env_steps"], _progress(last))
            if (spec.env.pixels and compiled.report is not None
                    and iteration % config.report_every == 0 and loop_lib.ready(spec, state)):
                _write_openloop(log, compiled.report, state, key, iteration,
                                spec.learner.batch_length // 2)
            overdue = 0 < config.checkpoint_minutes * 60 <= time.monotonic() - saved
            if iteration % config.checkpoint_every == 0 or overdue or stop.signum:
                checkpoint_lib.save(path, stored, state, key, tally)
                saved = time.monotonic()
            if stop.signum and last["env_steps"] < config.env_steps:
                resume = dataclasses.replace(config, resume=True, overwrite=False)
                raise Interrupted(stop.signum, (
                    f"[train] stopped at {last['env_steps']}/{config.env_steps} env steps; "
                    f"checkpoint {path} written; continue with: {command_line(resume)}"))
    checkpoint_lib.save(path, stored, state, key, tally)
    print(f"[train] done in {time.time() - started:.0f}s; logs in {logdir}", flush=True)
    return last

