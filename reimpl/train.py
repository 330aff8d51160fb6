"""`python -m reimpl.train`: DreamerV3 on Craftax; env stepping and updates compiled by XLA.

The host loop only logs (progress line, JSONL), and checkpoints the whole loop state (agent,
optimizer, envs, replay, RNG key) so `--resume` continues exactly where a run stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np
from flax import serialization

from . import envs as envs_lib
from . import loop as loop_lib
from . import ratio as ratio_lib
from .agent import Agent
from .config import PRESETS, preset


@dataclass(frozen=True)
class TrainConfig:
    env: str = "Craftax-Classic-Pixels-v1"  # one of reimpl.envs.ENV_NAMES
    preset: str = "cpu"  # agent preset (reimpl.config.PRESETS)
    num_envs: int = 8  # environments stepped in lock-step
    steps_per_collect: int = 8  # env steps per env between update phases
    train_ratio: float = 32.0  # replayed steps per env step (official run.train_ratio)
    env_steps: int = 1024  # total env steps (all envs); about 7 minutes on 2 CPU cores
    replay_capacity: int = 2048  # steps kept per env
    seed: int = 0
    logdir: str = "runs/craftax"
    checkpoint_every: int = 50  # iterations
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
    return TrainConfig(**vars(args))


@functools.cache
def _compiled(env_name: str, preset_name: str, num_envs: int, steps: int, ratio: float):
    """The loop spec and its jitted collect and update, shared by runs of the same shape (a
    resumed run in the same process compiles nothing)."""
    env = envs_lib.make_env(env_name)
    agent_config = preset(preset_name)
    agent = Agent.build(env.obs_space, env.act_space, agent_config)
    updates = loop_lib.updates_per_iteration(
        ratio, num_envs, steps, agent_config.batch_size, agent_config.batch_length)
    spec = loop_lib.LoopSpec(agent, env, num_envs, steps, updates)
    return (spec, jax.jit(functools.partial(loop_lib.collect, spec)),
            jax.jit(functools.partial(loop_lib.update, spec)))


def make_spec(config: TrainConfig):
    return _compiled(config.env, config.preset, config.num_envs, config.steps_per_collect,
                     config.train_ratio)


def _is_key(x) -> bool:
    return jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _key_data(tree):
    """Typed PRNG keys (the env states hold some) as their raw uint32 data, for msgpack."""
    return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, tree)


def _save(path: Path, state, key) -> None:
    """Atomic: a crash mid-write leaves the previous checkpoint intact."""
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(serialization.to_bytes(_key_data({"state": state, "key": key})))
    os.replace(tmp, path)


def _load(path: Path, state, key):
    if not path.exists():
        raise FileNotFoundError(f"--resume: no checkpoint at {path}; start without --resume")
    template = {"state": state, "key": key}
    try:
        restored = serialization.from_bytes(_key_data(template), path.read_bytes())
        expected = jax.tree.map(np.shape, _key_data(template))
        found = jax.tree.map(np.shape, restored)
        if expected != found:
            raise ValueError("array shapes differ")
        restored = jax.tree.map(
            lambda t, x: jax.random.wrap_key_data(x) if _is_key(t) else x, template, restored)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"checkpoint {path} does not match this config "
                         f"(env, preset, num_envs, replay_capacity): {error}") from error
    return restored["state"], restored["key"]


def _scalars(metrics) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if np.ndim(v) == 0}


class AchievementTally:
    """Achievement success rates over every episode finished so far, and the Crafter score."""

    def __init__(self, names: list[str]):
        self.names = names
        self.counts = np.zeros(len(names))
        self.episodes = 0

    def add(self, counts, episodes) -> dict[str, float]:
        self.counts += np.asarray(counts)
        self.episodes += int(episodes)
        if not self.episodes:
            return {}
        rates = self.counts / self.episodes
        return {"crafter_score": envs_lib.crafter_score(rates),
                **{f"achievement/{n}": float(r) for n, r in zip(self.names, rates)}}


def _iteration(spec, collect_fn, update_fn, state, key, tally: AchievementTally):
    key, collect_key, *update_keys = jax.random.split(key, 2 + spec.updates)
    state, collected = collect_fn(state, collect_key)
    metrics = _scalars(collected)
    metrics.update(tally.add(collected["achievement_counts"], collected["episodes"]))
    if loop_lib.ready(spec, state):
        history = []
        for update_key in update_keys:
            state, update_metrics = update_fn(state, update_key)
            history.append(_scalars(update_metrics))
        metrics.update({k: float(np.mean([h[k] for h in history])) for k in history[0]})
    metrics["updates"] = len(update_keys) if "loss" in metrics else 0
    return state, metrics, key


def train(config: TrainConfig) -> dict[str, float]:
    """Run; returns the metrics of the last iteration."""
    logdir = Path(config.logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    (logdir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=2))
    spec, collect_fn, update_fn = make_spec(config)
    key, init_key = jax.random.split(jax.random.key(config.seed))
    state = loop_lib.init_loop(spec, init_key, config.replay_capacity)
    checkpoint = logdir / "checkpoint.msgpack"
    if config.resume:
        state, key = _load(checkpoint, state, key)
    effective = ratio_lib.train_ratio(
        config.num_envs, config.steps_per_collect, spec.updates,
        spec.agent.config.batch_size, spec.agent.config.batch_length)
    print(f"[train] {config.env}, preset {config.preset}, {config.num_envs} envs, "
          f"{spec.updates} updates per {config.num_envs * config.steps_per_collect} env steps "
          f"(train ratio {effective:g}); compiling...", flush=True)
    started, last = time.time(), {}
    tally = AchievementTally(envs_lib.achievement_names(spec.env))
    with open(logdir / "metrics.jsonl", "a") as log:
        iteration = 0
        while int(state.env_steps) < config.env_steps:
            state, metrics, key = _iteration(spec, collect_fn, update_fn, state, key, tally)
            iteration += 1
            last = {"env_steps": int(state.env_steps), **metrics}
            log.write(json.dumps(last) + "\n")
            log.flush()
            elapsed = time.time() - started
            loss = f"loss {last['loss']:.3g}" if "loss" in last else "filling replay"
            print(f"\r[train] {last['env_steps']}/{config.env_steps} env steps "
                  f"{last['env_steps'] / elapsed:.0f}/s  {loss}  "
                  f"return {last['episode/return']:.2f} ({int(last['episodes'])} ep)",
                  end="", flush=True)
            if iteration % config.checkpoint_every == 0:
                _save(checkpoint, state, key)
    _save(checkpoint, state, key)
    print(f"\n[train] done in {time.time() - started:.0f}s; logs in {logdir}", flush=True)
    return last


def main(argv=None) -> int:
    train(_parse(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
