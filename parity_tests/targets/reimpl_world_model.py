"""The reimpl's world-model loss terms wrapped from network outputs only (piece
`world_model_terms`, docs/TARGETS.md): the reimpl's own output types, its image output transform
(`decoder.image_distribution`), its loss call site (`world_model.output_losses`) and its KL
(`rssm.kl_losses`), fed with given logits instead of its networks."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from parity_tests.targets import reimpl_actor_critic, reimpl_config
from reference_adapter.world_model_terms import OUTPUTS
from reimpl import decoder, distributions, rssm, world_model
from reimpl.spaces import image_obs_space


def _terms(config, data):
    reward = reimpl_actor_critic.twohot(data["reward_logits"])
    continuation = distributions.Binary(data["con_logit"])
    recons = {"image": decoder.image_distribution(data["image_logits"])}
    obs_space = {"image": image_obs_space(data["image"].shape[2])["image"]}
    losses = world_model.output_losses(data, reward, continuation, recons, obs_space, config)
    return {**losses, **rssm.kl_losses(data["post_logits"], data["prior_logits"], config.rssm)}


@functools.cache
def _program(preset_name: str):
    config = reimpl_config.config(preset_name)

    def run(data):
        def sums(outputs):
            return {k: v.sum() for k, v in _terms(config, {**data, **outputs}).items()}

        grads = jax.jacrev(sums)({k: data[k] for k in OUTPUTS})
        return {**_terms(config, data), "grads": grads}

    return jax.jit(run)


def world_model_terms(preset_name: str, inputs: dict) -> dict:
    """Decoder, reward, continuation and latent outputs with the replayed steps -> every
    world-model term per (B, T) element and d sum(term) / d output."""
    data = {k: jnp.asarray(v) for k, v in inputs.items()}
    return jax.tree.map(np.asarray, _program(preset_name)(data))
