"""Data parallelism with JAX's own sharding: a one-axis device mesh ('data') and where each
part of the loop state lives on it. No communication is written by hand: the compiled programs
take and return arrays with these shardings and XLA's partitioner inserts the collectives.

- Environments, their observations, the policy carry, the episode counters and the replay
  ([E, capacity, ...]) are split over the env axis: each device steps and stores E / N envs.
- The learner's state (parameters, optimizer state, normalisers) is replicated.
- Each update's batch is constrained to be split over its batch axis (B / N sequences per
  device), so the train step runs data-parallel and the gradient mean over the batch becomes
  an all-reduce across devices. The replayed sequences are drawn as on one device (uniform
  over all envs, `reimpl.train.replay.sample`), so a sharded run trains on the same batches as an
  unsharded one with the same seed; only the order of float reductions differs. (That order
  decides the sign of the official zero-initialised heads' first predictions, a sum that
  cancels to 0 (docs/OFFICIAL.md, "Facts"), so from that initialisation two runs part from the
  start.)

Several hosts: `jax.distributed.initialize()` makes `jax.devices()` every process's devices;
the mesh then spans hosts and every process runs the same programs (`initialize_distributed`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = "data"


@dataclass(frozen=True)
class Layout:
    """A mesh of `devices` along AXIS and the two shardings the loop state uses."""

    mesh: Mesh

    @property
    def devices(self) -> int:
        return self.mesh.size

    @property
    def replicated(self) -> NamedSharding:
        return NamedSharding(self.mesh, PartitionSpec())

    @property
    def split(self) -> NamedSharding:
        """The leading axis split over the devices, the rest of each array whole."""
        return NamedSharding(self.mesh, PartitionSpec(AXIS))


def split_refusal(devices: int, num_envs: int, batch_size: int) -> str | None:
    """Why `devices` cannot split these envs and batches, or None."""
    if num_envs % devices:
        return f"--devices {devices} does not divide --num-envs {num_envs}"
    if batch_size % devices:
        return (f"--devices {devices} does not divide the batch size {batch_size} (set it "
                f"with --agent batch_size=...)")
    return None


def device_refusal(devices: int) -> str | None:
    """Why there are not `devices` devices here, or None. Initialises the backend (after
    `jax.distributed.initialize`, where that runs), compiles nothing."""
    present = jax.device_count()
    if devices <= present:
        return None
    return (f"--devices {devices}: only {present} {jax.default_backend()} device(s) present "
            f"(on CPU, XLA_FLAGS=--xla_force_host_platform_device_count={devices} set before "
            f"Python starts makes that many)")


def layout(devices: int) -> Layout:
    """The first `devices` of `jax.devices()` (all processes' devices after
    `jax.distributed.initialize`) as one data axis."""
    return Layout(Mesh(np.array(jax.devices()[:devices]), (AXIS,)))


def _leading(tree, sharding: NamedSharding, num_envs: int, what: str):
    """`sharding` for every leaf of `tree`, each checked to have the env axis first."""
    def leaf(x):
        if not x.shape or x.shape[0] != num_envs:
            raise ValueError(f"{what}: a leaf of shape {x.shape} has no leading env axis of "
                             f"{num_envs}; it cannot be split over devices")
        return sharding

    return jax.tree.map(leaf, tree)


def loop_shardings(layout: Layout, state, num_envs: int):
    """A LoopState of shardings for `state` (arrays or ShapeDtypeStructs): the learner's state
    replicated, envs and replay split over the env axis, counters replicated."""
    replicated, split = layout.replicated, layout.split
    return state.replace(
        agent=jax.tree.map(lambda _: replicated, state.agent),
        env=_leading(state.env, split, num_envs, "env state"),
        obs=_leading(state.obs, split, num_envs, "observation"),
        policy=_leading(state.policy, split, num_envs, "policy carry"),
        replay=state.replay.replace(
            data=_leading(state.replay.data, split, num_envs, "replay"), total=replicated),
        episode_return=split, episode_length=split, env_steps=replicated)


def initialize_distributed() -> None:
    """`jax.distributed.initialize()` with what the environment gives it: JAX_COORDINATOR_ADDRESS
    and the process count and id from a cluster JAX detects (SLURM, Open MPI, Kubernetes,
    Cloud TPU), or explicit JAX_NUM_PROCESSES and JAX_PROCESS_ID. Must run before any other
    JAX call of the process."""
    count, index = os.environ.get("JAX_NUM_PROCESSES"), os.environ.get("JAX_PROCESS_ID")
    jax.distributed.initialize(num_processes=None if count is None else int(count),
                               process_id=None if index is None else int(index))
