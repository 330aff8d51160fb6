"""The reimpl wrapped as if it had an architecture of its own: every piece of
`reimpl_target` except those that load the official weights (`world_model_losses`/`grads`,
`agent_losses`/`grads`, `train_step`, `policy_rollout`).

What the suite finds through this target it finds for any implementation: the actor-critic
and world-model losses on network outputs, the time-index and gradient-flow probes on them,
returns, two-hot, latents, key independence, replay and schedule. `make mutants` runs the
agent-level mutants against it (`python -m parity_tests.mutants --architecture-free`), so
PARITY.md shows each caught without a shared parameter.
"""

from __future__ import annotations

from types import SimpleNamespace

from parity_tests.targets import reimpl_target

WEIGHT_PIECES = ("world_model_losses", "world_model_grads", "agent_losses", "agent_grads",
                 "train_step", "policy_rollout")


def make_target() -> SimpleNamespace:
    pieces = vars(reimpl_target.make_target())
    kept = {name: piece for name, piece in pieces.items() if name not in WEIGHT_PIECES}
    return SimpleNamespace(**{**kept, "name": "reimpl (architecture-free pieces only)"})
