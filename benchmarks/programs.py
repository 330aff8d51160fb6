"""The programs the benchmarks time, reimpl and official: a train step and a policy step,
each a jitted function of device-resident state plus the arguments of one call.

Why the official programs are built here rather than called through
`OfficialAgent.train_step` / `OfficialAgent.apply`: those take and return numpy variables, a
host round trip of every variable per call (a policy step would mostly time copies), and they
hide the jitted function whose lowering the FLOP count needs. So this module runs the same
official methods the adapter runs (`Agent.train` after `init_train`, as the adapter's
`_impure_train`; `Agent.policy` with the official `policy_keys` variables, as the official
`embodied.jax.Agent._policy`) through the adapter's own ninjax handle, with the variables on
the device. It imports nothing official (STYLE rule 7): the adapter has loaded that code, with
the compute dtype set to float32.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re

import jax
import jax.numpy as jnp
import numpy as np

from reference_adapter import OfficialAgent
from reimpl import agent as agent_lib
from reimpl.config import AgentConfig

from . import workload
from .timing import Program


def assert_float32(compiled: jax.stages.Compiled, name: str) -> None:
    """Refuse a program with any bfloat16 value: the comparison is float32 on both sides."""
    if "bf16" in compiled.as_text():
        raise RuntimeError(f"{name}: the compiled program has bfloat16 values; both sides "
                           f"must compute in float32 (official: reference_adapter/loader.py)")


@contextlib.contextmanager
def official_compute_dtype(dtype: str):
    """The official module-level COMPUTE_DTYPE (float32 as the adapter loads it) set to `dtype`
    while the block runs: programs traced inside compute in it, as the official agent does by
    default (bfloat16). The official code reads it at trace time, so compiled programs keep it."""
    from reference_adapter import loader

    official = loader.load()
    saved = official.nets.COMPUTE_DTYPE, official.utils.COMPUTE_DTYPE
    official.nets.COMPUTE_DTYPE = official.utils.COMPUTE_DTYPE = getattr(jnp, dtype)
    try:
        yield
    finally:
        official.nets.COMPUTE_DTYPE, official.utils.COMPUTE_DTYPE = saved


@functools.lru_cache(maxsize=1)
def official_agent(config: AgentConfig, preset_name: str, seed: int = 0):
    """The official agent for the reimpl config's preset and batch shape, with the official
    initial variables. Cached, one at a time: the official init runs a train step op by op
    (20 s at size1m on 2 cores), so the train and policy benchmarks of a preset share one.
    Its parameter-count table goes nowhere, to keep the progress lines readable. Raises
    ReferenceUnavailable, naming the fix, without the official code."""
    obs_space, act_space = workload.spaces()
    official = OfficialAgent(obs_space, act_space, preset_name, {
        "batch_size": config.batch_size, "batch_length": config.batch_length,
        "replay_context": config.replay_context})
    with contextlib.redirect_stdout(io.StringIO()):
        official.init(seed)
    if official.official.nets.COMPUTE_DTYPE != jnp.float32:
        raise RuntimeError("the official compute dtype is not float32; the adapter's loader "
                           "sets it, so load the official code through reference_adapter")
    return official


def _official_seed(seed: int) -> jax.Array:
    return jnp.asarray([seed, seed], jnp.uint32)  # the adapter's seed layout


# ------------------------------------------------------------------------- train step

def reimpl_train(config: AgentConfig, batch: dict[str, np.ndarray], seed: int = 0) -> Program:
    obs_space, act_space = workload.spaces()
    agent = agent_lib.Agent.build(obs_space, act_space, config)
    init_key, step_key = jax.random.split(jax.random.key(seed))
    state = agent_lib.init(agent, init_key)
    fn = jax.jit(functools.partial(agent_lib.train_step, agent))
    return Program("reimpl", fn, (state, jax.device_put(batch), step_key))


def _official_train_step(model, data):
    """Adapter `OfficialAgent._impure_train`: a fresh carry, then the official `Agent.train`
    (losses, gradients, optimizer update, slow critic)."""
    carry = model.init_train(data["is_first"].shape[0])
    _, _, metrics = model.train(carry, data)
    return metrics


def official_train(official, batch: dict[str, np.ndarray], seed: int = 0) -> Program:
    """Returns the new variables and the metrics, as the reimpl step returns its state."""
    official.check_batch(batch)
    pure = official.official.ninjax.pure(functools.partial(_official_train_step, official.model))
    fn = jax.jit(lambda variables, seed, data: pure(variables, data, seed=seed))
    variables = jax.device_put(official.variables)
    return Program("official", fn, (variables, _official_seed(seed), jax.device_put(batch)))


# ------------------------------------------------------------------------ policy step

def reimpl_policy(config: AgentConfig, obs: dict[str, np.ndarray], seed: int = 0) -> Program:
    """Only the parameters the policy reads (encoder, RSSM, policy head) are passed, as on
    the official side, so both dispatch a comparable argument tree."""
    obs_space, act_space = workload.spaces()
    agent = agent_lib.Agent.build(obs_space, act_space, config)
    init_key, step_key = jax.random.split(jax.random.key(seed))
    params = {k: v for k, v in agent_lib.init(agent, init_key).params.items()
              if k.split("/", 1)[0] in ("enc", "dyn", "pol")}
    carry = agent_lib.initial_policy_carry(agent, len(obs["is_first"]))
    fn = jax.jit(functools.partial(agent_lib.policy_step, agent))
    return Program("reimpl", fn, (params, carry, jax.device_put(obs), step_key))


def _official_initial_carry(model, num_envs: int):
    return model.init_policy(num_envs)


def _official_policy_step(model, carry, obs):
    return model.policy(carry, obs, mode="train")


def official_policy(official, obs: dict[str, np.ndarray], seed: int = 0) -> Program:
    """Returns (carry, action, outputs) of the official `Agent.policy`; the variables are
    read-only there, so they are not returned."""
    nj = official.official.ninjax
    keys = re.compile(official.model.policy_keys)
    variables = jax.device_put({k: v for k, v in official.variables.items()
                                if keys.match(k)})
    seed_array = _official_seed(seed)
    initial = functools.partial(_official_initial_carry, official.model, len(obs["is_first"]))
    _, carry = nj.pure(initial)(variables, seed=seed_array)
    pure = nj.pure(functools.partial(_official_policy_step, official.model))
    fn = jax.jit(lambda variables, seed, carry, obs: pure(variables, carry, obs, seed=seed)[1])
    return Program("official", fn, (variables, seed_array, carry, jax.device_put(obs)))
