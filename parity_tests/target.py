"""The target protocol: what an implementation provides for the suite to compare.

A target is any object; each piece below is an optional attribute. A piece a target does not
provide is reported as "not provided" in PARITY.md, never as passed. All quantities are in the
OFFICIAL conventions (reward[t] arrives with observation t; is_first/is_last/is_terminal as in
the official replay); a wrapper for a textbook-indexed implementation does the shift, and the
returns checks then prove the shift right or wrong. Arrays are numpy or jax arrays, float32.

Pieces (name: signature -> result):
- lambda_return(last, term, rew, val, boot, disc, lam) -> [B, T-1]
    all inputs [B, T]; official `dreamerv3.agent.lambda_return` semantics.
- official_config(preset_name) -> {dotted official key: value}.
- twohot_bins(num_bins) -> [num_bins], raw (not symlog) bin positions.
- twohot_loss(logits, target) -> [...], twohot_pred(logits) -> [...]
    logits [..., num_bins] over `twohot_bins(num_bins)`; target in raw space.
- latent_probs, latent_entropy, latent_kl_losses, latent_sample: categorical latents with
    unimix; policy_log_prob, policy_entropy: the discrete policy head (test_latents.py).
- world_model_losses / world_model_grads, agent_losses / agent_grads, train_step,
    policy_rollout: network pieces on the official flat parameters or variables and an
    official batch or observations.
- policy_samples, replay_sequences, update_schedule: randomness, replay and schedule.
docs/TARGETS.md has the signatures and a worked example wrapper (docs/toy_target.py).
"""

from __future__ import annotations

import importlib
from typing import Any

DEFAULT_TARGET = "parity_tests.targets.reimpl_target:make_target"


def load_target(spec: str) -> Any:
    """Build a target from 'package.module:factory'."""
    module_name, _, factory_name = spec.partition(":")
    if not module_name or not factory_name:
        raise ValueError(f"--target must look like 'package.module:factory', got {spec!r}")
    module = importlib.import_module(module_name)
    factory = getattr(module, factory_name, None)
    if factory is None:
        raise ValueError(f"--target {spec!r}: module {module_name!r} has no {factory_name!r}")
    return factory()
