"""`python -m reimpl.train`: DreamerV3 on Craftax; env stepping and updates compiled by XLA.

The host loop only logs (progress line, JSONL and TensorBoard scalars, open-loop prediction
images) and checkpoints the whole loop state (agent, optimizer, envs, replay, RNG key,
achievement tally) so `--resume` continues exactly where a run stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from . import checkpoint as checkpoint_lib
from . import envs as envs_lib
from . import loop as loop_lib
from . import metrics_log
from . import openloop as openloop_lib
from . import ratio as ratio_lib
from . import replay as replay_lib
from .agent import Agent
from .config import PRESETS, override, preset


@dataclass(frozen=True)
class TrainConfig:
    env: str = "Craftax-Classic-Pixels-v1"  # one of reimpl.envs.ENV_NAMES
    preset: str = "cpu"  # agent preset (reimpl.config.PRESETS)
    # Agent config fields replaced on top of the preset, 'key=value,...' with dotted keys for
    # nested groups, e.g. 'opt.lr=3e-4,rssm.free_nats=0.5' (reimpl.config.override).
    agent: str = ""
    num_envs: int = 8  # environments stepped in lock-step
    steps_per_collect: int = 8  # env steps per env between update phases
    train_ratio: float = 32.0  # replayed steps per env step (official run.train_ratio)
    env_steps: int = 1024  # total env steps (all envs); about 4 minutes on 2 CPU cores
    replay_capacity: int = 2048  # steps kept per env
    max_episode_steps: int = 0  # episode time limit; 0 keeps craftax's (10000 Classic)
    seed: int = 0
    logdir: str = "runs/craftax"
    checkpoint_every: int = 50  # iterations
    # Iterations between open-loop prediction images (LOGDIR/openloop/iter_XXXXXX.png and
    # TensorBoard `openloop/image`), pixel envs only; the official report runs every 300 s.
    report_every: int = 10
    resume: bool = False


def _parse(argv) -> TrainConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for field in dataclasses.fields(TrainConfig):
        if field.type == "bool":
            parser.add_argument(f"--{field.name.replace('_', '-')}", action="store_true")
        else:
            kind = {"int": int, "float": float, "str": str}[field.type]
            parser.add_argument(f"--{field.name.replace('_', '-')}", type=kind,
                                default=field.default)
    args = parser.parse_args(argv)
    if args.preset not in PRESETS:
        parser.error(f"--preset must be one of {', '.join(PRESETS)}")
    if args.env not in envs_lib.ENV_NAMES:
        parser.error(f"--env must be one of {', '.join(envs_lib.ENV_NAMES)}")
    try:
        override(preset(args.preset), args.agent)
    except ValueError as error:
        parser.error(f"--agent: {error}")
    return TrainConfig(**vars(args))


def _report(spec: loop_lib.LoopSpec, state: loop_lib.LoopState, key: jax.Array):
    """Open-loop predictions on a fresh replayed batch: {image key: uint8 [B, 3, T, ...]}."""
    sample_key, openloop_key = jax.random.split(key)
    config = spec.agent.config
    batch = replay_lib.sample(state.replay, sample_key,
                              min(openloop_lib.SEQUENCES, config.batch_size),
                              spec.sequence_length)
    return openloop_lib.openloop(spec.agent, state.agent.params, batch, openloop_key,
                                 config.batch_length // 2)


class Compiled(NamedTuple):
    spec: loop_lib.LoopSpec
    collect: Any  # jitted loop.collect(state, key), state donated
    update: Any  # jitted loop.update(state, key), state donated
    report: Any  # jitted _report(state, key)


@functools.cache
def _compiled(env_name: str, max_episode_steps: int, preset_name: str, overrides: str,
              num_envs: int, steps: int, ratio: float):
    """The loop spec and its jitted collect, update and report, shared by runs of the same
    shape (a resumed run in the same process compiles nothing)."""
    env = envs_lib.make_env(env_name, max_timesteps=max_episode_steps or None)
    agent_config = override(preset(preset_name), overrides)
    agent = Agent.build(env.obs_space, env.act_space, agent_config)
    updates = loop_lib.updates_per_iteration(
        ratio, num_envs, steps, agent_config.batch_size, agent_config.batch_length)
    spec = loop_lib.LoopSpec(agent, env, num_envs, steps, updates)
    # The loop state is donated: the replay is written in place, not copied per call
    # (loop.own_buffers); a caller must not use a state after passing it.
    return Compiled(spec, jax.jit(functools.partial(loop_lib.collect, spec), donate_argnums=0),
                    jax.jit(functools.partial(loop_lib.update, spec), donate_argnums=0),
                    jax.jit(functools.partial(_report, spec)))


def make_spec(config: TrainConfig) -> Compiled:
    return _compiled(config.env, config.max_episode_steps, config.preset, config.agent,
                     config.num_envs, config.steps_per_collect, config.train_ratio)


def _stored_config(config: TrainConfig) -> dict[str, Any]:
    """What the checkpoint records: the fields that describe the training, without where
    and how this process runs it (logdir, resume), so a checkpoint does not depend on them."""
    return {k: v for k, v in dataclasses.asdict(config).items() if k not in ("logdir", "resume")}


def _scalars(metrics) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if np.ndim(v) == 0}


def _iteration(compiled: Compiled, state, key, tally, names):
    spec = compiled.spec
    iteration = int(state.env_steps) // (spec.num_envs * spec.steps_per_collect)
    due = loop_lib.updates_due(spec.updates, iteration)
    key, collect_key, *update_keys = jax.random.split(key, 2 + due)
    state, collected = compiled.collect(state, collect_key)
    metrics = _scalars(collected)
    tally = metrics_log.add_episodes(tally, collected["achievement_counts"],
                                     collected["episodes"])
    metrics.update(metrics_log.achievement_metrics(names, tally.counts, tally.episodes))
    if loop_lib.ready(spec, state) and update_keys:
        history = []
        for update_key in update_keys:
            state, update_metrics = compiled.update(state, update_key)
            history.append(_scalars(update_metrics))
        metrics.update({k: float(np.mean([h[k] for h in history])) for k in history[0]})
    metrics["updates"] = len(update_keys) if "loss" in metrics else 0
    return state, metrics, key, tally


def _write_openloop(log: metrics_log.MetricsLog, report_fn, state, key, iteration: int,
                    context: int) -> None:
    # fold_in leaves the training key sequence as it is: reports do not change the run.
    videos = report_fn(state, jax.random.fold_in(key, iteration))
    picture = openloop_lib.grid(np.asarray(videos["image"]), context)
    openloop_lib.write_png(log.logdir / "openloop" / f"iter_{iteration:06d}.png", picture)
    log.image("openloop/image", int(state.env_steps), picture)


def _progress(metrics: dict[str, float], total: int, stepped: int, elapsed: float) -> str:
    """`stepped`: env steps taken by this process (a resumed run's earlier ones excluded)."""
    loss = f"loss {metrics['loss']:.3g}" if "loss" in metrics else "filling replay"
    return (f"\r[train] {metrics['env_steps']}/{total} env steps "
            f"{stepped / elapsed:.0f}/s  {loss}  "
            f"return {metrics['episode/return']:.2f} ({int(metrics['episodes'])} ep)")


def train(config: TrainConfig) -> dict[str, float]:
    """Run; returns the metrics of the last iteration."""
    logdir = Path(config.logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    (logdir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=2))
    stored = _stored_config(config)
    compiled = make_spec(config)
    spec = compiled.spec
    key, init_key = jax.random.split(jax.random.key(config.seed))
    state = loop_lib.init_loop(spec, init_key, config.replay_capacity)
    names = envs_lib.achievement_names(spec.env)
    tally = metrics_log.empty_tally(len(names))
    path = logdir / "checkpoint.msgpack"
    if config.resume:
        state, key, tally = checkpoint_lib.load(path, stored, state, key, tally)
        state = loop_lib.own_buffers(state)
    effective = ratio_lib.train_ratio(
        config.num_envs, config.steps_per_collect, spec.updates,
        spec.agent.config.batch_size, spec.agent.config.batch_length)
    per_iteration = config.num_envs * config.steps_per_collect
    agent = f" with {config.agent}" if config.agent else ""
    print(f"[train] {config.env}, preset {config.preset}{agent}, {config.num_envs} envs, "
          f"{spec.updates:g} updates per {per_iteration} env steps on average "
          f"(train ratio {effective:g}); compiling...", flush=True)
    if not spec.env.pixels:
        print(f"[train] no open-loop images: {config.env} has no image observation", flush=True)
    started, start_steps, last = time.time(), int(state.env_steps), {}
    with metrics_log.MetricsLog(logdir) as log:
        while int(state.env_steps) < config.env_steps:
            state, metrics, key, tally = _iteration(compiled, state, key, tally, names)
            # Counted from the run's start, so a resumed run keeps the cadence and file names.
            iteration = int(state.env_steps) // per_iteration
            last = {"env_steps": int(state.env_steps), **metrics}
            log.scalars(last["env_steps"], metrics)
            print(_progress(last, config.env_steps, last["env_steps"] - start_steps,
                            time.time() - started), end="", flush=True)
            if (spec.env.pixels and iteration % config.report_every == 0
                    and loop_lib.ready(spec, state)):
                _write_openloop(log, compiled.report, state, key, iteration,
                                spec.agent.config.batch_length // 2)
            if iteration % config.checkpoint_every == 0:
                checkpoint_lib.save(path, stored, state, key, tally)
    checkpoint_lib.save(path, stored, state, key, tally)
    print(f"\n[train] done in {time.time() - started:.0f}s; logs in {logdir}", flush=True)
    return last


def main(argv=None) -> int:
    train(_parse(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
