"""`python -m reimpl.evaluate CHECKPOINT`: run the policy of a `reimpl.train` checkpoint (or,
with `--random`, uniform random actions) for N episodes and report returns, episode lengths,
achievement success rates and the Crafter score.

The env is the one the checkpoint was trained on (name and time limit from its stored config).
Episodes are taken without a bias towards short ones: with E envs each env contributes its
first ceil(N / E) finished episodes (the first N of those, round by round), so the stopping
rule never depends on how long an episode ran. Returns and lengths are counted as in
training: from an episode's reset step (is_first, reward 0) to its is_last step. Progress
over those E * ceil(N / E) episodes goes to stderr (reimpl/train/progress.py); the report to stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from .. import agent as agent_lib
from .. import cli
from . import checkpoint as checkpoint_lib
from . import envs as envs_lib
from . import metrics_log
from . import progress as progress_lib
from .run import make_spec
from .train_config import TrainConfig, upgraded

CHUNK = 100  # env steps per compiled rollout call
# (params, carry, obs {key: [E, ...]}, key) -> (carry, action [E] int32)
Policy = Callable[[Any, Any, dict[str, jax.Array], jax.Array], tuple[Any, jax.Array]]


def agent_policy(agent: agent_lib.Agent, sample: bool) -> Policy:
    """The trained actor through the world model's posterior (agent.policy_step);
    `sample=False` takes the mode of every latent and of the action."""
    def act(params, carry, obs, key):
        carry, action, _ = agent_lib.policy_step(agent, params, carry, obs, key, sample)
        return carry, action["action"]

    return act


def random_policy(num_actions: int) -> Policy:
    def act(params, carry, obs, key):
        return carry, jax.random.randint(key, obs["reward"].shape, 0, num_actions)

    return act


@struct.dataclass
class Rollout:
    env: envs_lib.EnvState
    obs: dict[str, jax.Array]  # [E, ...]
    carry: Any  # the policy's carry
    episode_return: jax.Array  # [E]
    episode_length: jax.Array  # [E]


def _step(env: envs_lib.Env, policy: Policy, params, rollout: Rollout, key: jax.Array):
    policy_key, env_key = jax.random.split(key)
    obs = rollout.obs
    carry, action = policy(params, rollout.carry, obs, policy_key)
    episode_return = jnp.where(obs["is_first"], 0.0, rollout.episode_return) + obs["reward"]
    episode_length = jnp.where(obs["is_first"], 0.0, rollout.episode_length) + 1
    finished = {"done": obs["is_last"], "return": episode_return, "length": episode_length,
                "achievements": envs_lib.achievements(rollout.env)}
    env_state, next_obs = envs_lib.step(env, env_key, rollout.env, action)
    return Rollout(env_state, next_obs, carry, episode_return, episode_length), finished


def rollout_chunk(env: envs_lib.Env, policy: Policy, steps: int, params, rollout: Rollout,
                  key: jax.Array):
    """`steps` policy and env steps -> (rollout, finished {done, return, length: [S, E],
    achievements: [S, E, A]}); entries count where `done`."""
    keys = jax.random.split(key, steps)
    return jax.lax.scan(lambda r, k: _step(env, policy, params, r, k), rollout, keys)


def _take(per_env: list[list[dict]], episodes: int) -> list[dict]:
    rounds = math.ceil(episodes / len(per_env))
    return [done[j] for j in range(rounds) for done in per_env][:episodes]


def run_episodes(env: envs_lib.Env, chunk, params, carry, episodes: int, num_envs: int,
                 key: jax.Array, progress: progress_lib.Progress | None = None) -> list[dict]:
    """The first `episodes` episodes (see the module docstring), each a dict with `return`,
    `length` and `achievements` [A] bool; `chunk` is `rollout_chunk` on this env, jitted with
    everything but (params, rollout, key) bound. `progress` counts the episodes still needed
    (at most ceil(episodes / num_envs) per env) after every chunk."""
    reset_key, key = jax.random.split(key)
    env_state, obs = envs_lib.reset(env, reset_key, num_envs)
    zeros = jnp.zeros(num_envs, jnp.float32)
    rollout = Rollout(env_state, obs, carry, zeros, zeros)
    per_env: list[list[dict]] = [[] for _ in range(num_envs)]
    rounds, steps = math.ceil(episodes / num_envs), 0
    while min(map(len, per_env)) < rounds:
        key, chunk_key = jax.random.split(key)
        rollout, finished = chunk(params, rollout, chunk_key)
        finished = jax.tree.map(np.asarray, finished)
        for step, env_index in zip(*np.nonzero(finished["done"]), strict=True):
            per_env[env_index].append({k: finished[k][step, env_index]
                                       for k in ("return", "length", "achievements")})
        steps += finished["done"].size
        if progress is not None:
            progress.update(sum(min(len(done), rounds) for done in per_env),
                            f"{steps} env steps")
    return _take(per_env, episodes)


def summarize(episodes: list[dict], names: list[str]) -> dict[str, Any]:
    returns = np.array([e["return"] for e in episodes], np.float64)
    lengths = np.array([e["length"] for e in episodes], np.float64)
    unlocked = np.array([e["achievements"] for e in episodes]).sum(0)
    achievements = metrics_log.achievement_metrics(names, unlocked, len(episodes))
    return {"episodes": len(episodes),
            "return_mean": returns.mean(), "return_std": returns.std(),
            "length_mean": lengths.mean(), "length_std": lengths.std(),
            "crafter_score": achievements.pop("crafter_score"),
            "achievements": {k.removeprefix("achievement/"): v for k, v in achievements.items()},
            "returns": returns.tolist(), "lengths": lengths.tolist()}


def _train_config(path: Path) -> TrainConfig:
    stored = upgraded(checkpoint_lib.read(path)["config"])
    unknown = sorted(set(stored) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise ValueError(f"checkpoint {path} stores config fields {unknown} that this "
                         "reimpl.train does not know; evaluate it with the version that wrote it")
    return TrainConfig(**stored)


@dataclasses.dataclass(frozen=True)
class Contestant:
    """What `run_episodes` needs, and how the report names it."""

    env: envs_lib.Env
    chunk: Callable  # jitted rollout_chunk(params, rollout, key) of CHUNK steps
    params: Any
    carry: Callable[[int], Any]  # num_envs -> the policy's initial carry
    name: str  # the checkpoint path, or 'random'
    mode: str  # sample, mode or random
    max_episode_steps: int  # 0: craftax's time limit


def _contestant(env: envs_lib.Env, policy: Policy, params, carry, name: str, mode: str,
                max_episode_steps: int) -> Contestant:
    chunk = jax.jit(functools.partial(rollout_chunk, env, policy, CHUNK))
    return Contestant(env, chunk, params, carry, name, mode, max_episode_steps)


def from_checkpoint(path: Path, mode: str) -> Contestant:
    """The trained policy of a checkpoint, on the env (and time limit) it was trained on."""
    config = _train_config(path)
    spec = make_spec(config).spec
    init = functools.partial(agent_lib.init, spec.agent)
    template = jax.eval_shape(init, jax.random.key(0)).params
    params = checkpoint_lib.load_agent_params(path, template)
    return _contestant(spec.env, agent_policy(spec.agent, mode == "sample"), params,
                       functools.partial(agent_lib.initial_policy_carry, spec.agent),
                       str(path), mode, config.max_episode_steps)


@functools.cache  # one compilation per env and time limit in a process
def random_contestant(env_name: str, max_episode_steps: int) -> Contestant:
    env = envs_lib.make_env(env_name, max_timesteps=max_episode_steps or None)
    return _contestant(env, random_policy(env.act_space["action"].classes), None,
                       lambda num_envs: None, "random", "random", max_episode_steps)


def build_parser() -> argparse.ArgumentParser:
    parser = cli.Parser(prog="python -m reimpl.evaluate",
                     description="Run the policy of a reimpl.train checkpoint (or uniform random "
                                 "actions) for N episodes; report returns, episode lengths, "
                                 "achievement success rates and the Crafter score.",
                     formatter_class=cli.HelpFormatter)
    parser.add_argument("checkpoint", nargs="?",
                        help="LOGDIR/checkpoint.msgpack of a run (or give --random)")
    parser.add_argument("--random", action="store_true",
                        help="uniform random actions instead of a checkpoint (needs --env)")
    parser.add_argument("--env", choices=envs_lib.ENV_NAMES,
                        help="the env for --random; a checkpoint brings its own")
    parser.add_argument("--max-episode-steps", type=int, default=0,
                        help="time limit for --random; 0 keeps craftax's (10000 Classic)")
    parser.add_argument("--episodes", type=int, default=16, help="episodes to report on")
    parser.add_argument("--envs", type=int, default=8, help="environments stepped in lock-step")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial worlds and "
                        "the policy's sampling")
    parser.add_argument("--mode", choices=("sample", "mode"), default="sample",
                        help="sample the policy and latents, or take their modes")
    parser.add_argument("--out", type=Path, help="also write the report as JSON here")
    return parser


def _parse(argv) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.random == (args.checkpoint is not None):
        parser.error("give either a CHECKPOINT or --random")
    if args.random and args.env is None:
        parser.error("--random needs --env")
    if not args.random and (args.env or args.max_episode_steps):
        parser.error("--env and --max-episode-steps come from the checkpoint's config; "
                     "pass them with --random only")
    if args.random and args.mode != "sample":
        parser.error("--mode applies to a checkpoint's policy, not to --random")
    if args.episodes < 1 or args.envs < 1:
        parser.error("--episodes and --envs must be positive")
    if args.max_episode_steps < 0:
        parser.error("--max-episode-steps must be 0 (craftax's limit) or positive")
    return args


def evaluate(contestant: Contestant, episodes: int, num_envs: int, seed: int) -> dict[str, Any]:
    """`episodes` episodes in `num_envs` lock-step envs from `seed`: the setup and
    `summarize` of them."""
    env = contestant.env
    needed = math.ceil(episodes / num_envs) * num_envs
    with progress_lib.Progress("[evaluate]", needed, "episodes", stream=sys.stderr) as progress:
        finished = run_episodes(env, contestant.chunk, contestant.params,
                                contestant.carry(num_envs), episodes, num_envs,
                                jax.random.key(seed), progress)
    return {"policy": contestant.name, "mode": contestant.mode, "env": env.name,
            "max_episode_steps": contestant.max_episode_steps, "envs": num_envs, "seed": seed,
            **summarize(finished, envs_lib.achievement_names(env))}


def format_report(report: dict[str, Any]) -> str:
    rates = ", ".join(f"{k} {v:.2f}" for k, v in report["achievements"].items() if v)
    return "\n".join([
        f"[evaluate] {report['policy']} ({report['mode']}) on {report['env']}: "
        f"{report['episodes']} episodes, {report['envs']} envs, seed {report['seed']}",
        f"return  {report['return_mean']:.2f} ± {report['return_std']:.2f}",
        f"length  {report['length_mean']:.1f} ± {report['length_std']:.1f}",
        f"crafter score  {report['crafter_score']:.2f}",
        f"achievement success rates: {rates or 'none unlocked'}",
    ])


def main(argv=None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.random:
        contestant = random_contestant(args.env, args.max_episode_steps)
    else:
        try:
            contestant = from_checkpoint(Path(args.checkpoint), args.mode)
        except (FileNotFoundError, ValueError) as error:
            raise SystemExit(f"[evaluate] {error}") from error
    report = evaluate(contestant, args.episodes, args.envs, args.seed)
    print(format_report(report), flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
