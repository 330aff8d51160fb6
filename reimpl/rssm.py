"""The recurrent state-space model (RSSM) with the official block-GRU core.

`RSSM` holds the parameters and one-step methods; `observe`, `imagine` and `loss` run them
over time with `jax.lax.scan`. Every sampling site takes its own key; with `sample=False`
the latent is the mode (argmax of the unimixed logits) instead of a draw, with the same
straight-through gradient, so two implementations can be compared element by element.

Carry, entries and features are dicts: `deter` [B, deter], `stoch` [B, stoch, classes], and
in features also `logit` [B, stoch, classes]. Sequences are batch-major, [B, T, ...].
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from . import distributions as dists
from .config import RSSMConfig
from .nets import (
    BlockLinear,
    Dtype,
    Linear,
    Norm,
    activation,
    apply_mask,
    dict_concat,
    freeze_mappings,
)
from .spaces import Space

Carry = dict[str, jax.Array]
Params = Any
Policy = Callable[[Carry, jax.Array], dict[str, jax.Array]]
stop_gradient = jax.lax.stop_gradient


def latent_dist(logits: jax.Array, unimix: float) -> dists.Agg:
    """One-hot latents over the last axis, summed over the `stoch` axis (RSSM._dist)."""
    return dists.Agg(dists.OneHot(logits, unimix), 1)


def initial_carry(config: RSSMConfig, batch_size: int, dtype: Dtype = jnp.float32) -> Carry:
    return {
        "deter": jnp.zeros((batch_size, config.deter), dtype),
        "stoch": jnp.zeros((batch_size, config.stoch, config.classes), dtype),
    }


def feat_to_tensor(feat: Carry) -> jax.Array:
    """Concatenated `deter` and flattened `stoch`, the input of every head (agent.py)."""
    stoch = feat["stoch"]
    return jnp.concatenate([feat["deter"], stoch.reshape((*stoch.shape[:-2], -1))], -1)


class RSSM(nn.Module):
    act_space: Mapping[str, Space]
    config: RSSMConfig
    dtype: Dtype = jnp.float32

    def __post_init__(self):
        freeze_mappings(self, "act_space")
        super().__post_init__()

    def setup(self):
        config, dtype = self.config, self.dtype
        if config.deter % config.blocks:
            raise ValueError(f"deter {config.deter} must divide into {config.blocks} blocks")

        def with_norm(linear: nn.Module) -> tuple[nn.Module, nn.Module]:
            return linear, Norm(config.norm, dtype=dtype, name=f"{linear.name}norm")

        def dense(name: str) -> tuple[nn.Module, nn.Module]:
            return with_norm(Linear(config.hidden, dtype=dtype, name=name))

        self.dynin = [dense(f"dynin{i}") for i in range(3)]
        self.dynhid = [
            with_norm(BlockLinear(config.deter, config.blocks, dtype=dtype, name=f"dynhid{i}"))
            for i in range(config.dynlayers)
        ]
        self.dyngru = BlockLinear(3 * config.deter, config.blocks, dtype=dtype, name="dyngru")
        self.obs = [dense(f"obs{i}") for i in range(config.obslayers)]
        self.prior_layers = [dense(f"prior{i}") for i in range(config.imglayers)]
        logit_units = (config.stoch, config.classes)
        self.obslogit = Linear(logit_units, config.outscale, dtype, name="obslogit")
        self.priorlogit = Linear(logit_units, config.outscale, dtype, name="priorlogit")

    def _dense(self, layer: tuple[nn.Module, nn.Module], x: jax.Array) -> jax.Array:
        linear, norm = layer
        return activation(self.config.act)(norm(linear(x)))

    def core(self, deter: jax.Array, stoch: jax.Array, action: jax.Array) -> jax.Array:
        """One block-GRU step: [B, deter], [B, stoch, classes], [B, A] -> [B, deter]."""
        groups = self.config.blocks
        stoch = stoch.reshape((*stoch.shape[:-2], -1))  # [B, S*C]
        action = action / stop_gradient(jnp.maximum(1, jnp.abs(action)))
        sources = (deter, stoch, action)
        inputs = [self._dense(layer, x) for layer, x in zip(self.dynin, sources, strict=True)]
        x = jnp.concatenate(inputs, -1)[..., None, :].repeat(groups, -2)  # [B, G, 3H]
        x = jnp.concatenate([_to_groups(deter, groups), x], -1)  # [B, G, deter/G + 3H]
        x = x.reshape((*x.shape[:-2], -1))
        for layer in self.dynhid:
            x = self._dense(layer, x)
        x = self.dyngru(x)  # [B, 3 * deter]
        reset, candidate, update = [
            _from_groups(gate) for gate in jnp.split(_to_groups(x, groups), 3, -1)
        ]
        reset = jax.nn.sigmoid(reset)
        candidate = jnp.tanh(reset * candidate)
        update = jax.nn.sigmoid(update - 1)
        return update * candidate + (1 - update) * deter

    def prior(self, deter: jax.Array) -> jax.Array:  # [..., deter] -> [..., S, C]
        x = deter
        for layer in self.prior_layers:
            x = self._dense(layer, x)
        return self.priorlogit(x)

    def posterior(self, deter: jax.Array, tokens: jax.Array) -> jax.Array:  # -> [B, S, C]
        tokens = tokens.reshape((*deter.shape[:-1], -1))
        x = tokens if self.config.absolute else jnp.concatenate([deter, tokens], -1)
        for layer in self.obs:
            x = self._dense(layer, x)
        return self.obslogit(x)

    def draw(self, logit: jax.Array, key: jax.Array, sample: bool) -> jax.Array:
        dist = latent_dist(logit, self.config.unimix)
        stoch = dist.sample(key) if sample else dist.pred()
        return stoch.astype(self.dtype)

    def observe_step(
        self,
        carry: Carry,
        tokens: jax.Array,
        action: dict[str, jax.Array],
        reset: jax.Array,
        key: jax.Array,
        sample: bool = True,
    ) -> tuple[Carry, Carry, Carry]:
        """tokens [B, D], action {key: [B, ...]}, reset [B] -> carry, entry, feat."""
        carry, tokens = _cast_floats((carry, tokens), self.dtype)
        deter = apply_mask(carry["deter"], ~reset)
        stoch = apply_mask(carry["stoch"], ~reset)
        action = apply_mask(dict_concat(self.act_space, action, self.dtype), ~reset)
        deter = self.core(deter, stoch, action)
        logit = self.posterior(deter, tokens)
        stoch = self.draw(logit, key, sample)
        carry = {"deter": deter, "stoch": stoch}
        return carry, dict(carry), {"deter": deter, "stoch": stoch, "logit": logit}

    def imagine_step(
        self, carry: Carry, action: dict[str, jax.Array], key: jax.Array, sample: bool = True
    ) -> tuple[Carry, Carry]:
        """One prior step from `carry` under `action` -> carry, feat."""
        carry = _cast_floats(carry, self.dtype)
        action_embedding = dict_concat(self.act_space, action, self.dtype)
        deter = self.core(carry["deter"], carry["stoch"], action_embedding)
        logit = self.prior(deter)
        stoch = self.draw(logit, key, sample)
        return {"deter": deter, "stoch": stoch}, {"deter": deter, "stoch": stoch, "logit": logit}

    def initialize(
        self, carry: Carry, tokens: jax.Array, action: dict[str, jax.Array], reset: jax.Array
    ) -> jax.Array:
        """Touches every layer once, for `init`."""
        _, _, feat = self.observe_step(carry, tokens, action, reset, jax.random.key(0), False)
        return self.prior(feat["deter"])


def _to_groups(x: jax.Array, groups: int) -> jax.Array:  # [..., G*H] -> [..., G, H]
    return x.reshape((*x.shape[:-1], groups, x.shape[-1] // groups))


def _from_groups(x: jax.Array) -> jax.Array:  # [..., G, H] -> [..., G*H]
    return x.reshape((*x.shape[:-2], -1))


def _cast_floats(tree, dtype: Dtype):
    def cast(x):
        return x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x

    return jax.tree.map(cast, tree)


def _swap_batch_time(tree):
    """[B, T, ...] <-> [T, B, ...]: scan runs over the leading axis."""
    return jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), tree)


def _observe_body(model: RSSM, params: Params, sample: bool, carry: Carry, inputs):
    tokens, action, reset, key = inputs
    carry, entry, feat = model.apply(
        {"params": params}, carry, tokens, action, reset, key, sample, method=RSSM.observe_step
    )
    return carry, (entry, feat)


def observe(
    model: RSSM,
    params: Params,
    carry: Carry,
    tokens: jax.Array,
    action: dict[str, jax.Array],
    reset: jax.Array,
    key: jax.Array,
    sample: bool = True,
) -> tuple[Carry, Carry, Carry]:
    """Posterior rollout. tokens [B, T, D], action {k: [B, T, ...]} (the action taken BEFORE
    each step), reset [B, T] (is_first) -> final carry, entries [B, T, ...], feat [B, T, ...].
    Step t draws its latent with `jax.random.split(key, T)[t]`."""
    length = reset.shape[1]
    keys = jax.random.split(key, length)
    # The scan carries the compute dtype (a float32 replay context or initial carry enters it).
    carry = _cast_floats(carry, model.dtype)
    inputs = (*_swap_batch_time((tokens, action, reset)), keys)
    body = functools.partial(_observe_body, model, params, sample)
    carry, (entries, feat) = jax.lax.scan(body, carry, inputs)
    return carry, _swap_batch_time(entries), _swap_batch_time(feat)


def _imagine_policy_body(
    model: RSSM, params: Params, policy: Policy, sample: bool, carry: Carry, key: jax.Array
):
    policy_key, prior_key = jax.random.split(key)
    action = policy(stop_gradient(carry), policy_key)
    carry, feat = model.apply(
        {"params": params}, carry, action, prior_key, sample, method=RSSM.imagine_step
    )
    return carry, (feat, action)


def _imagine_actions_body(model: RSSM, params: Params, sample: bool, carry: Carry, inputs):
    action, key = inputs
    _, prior_key = jax.random.split(key)
    carry, feat = model.apply(
        {"params": params}, carry, action, prior_key, sample, method=RSSM.imagine_step
    )
    return carry, (feat, action)


def imagine(
    model: RSSM,
    params: Params,
    carry: Carry,
    policy: Policy | dict[str, jax.Array],
    length: int,
    key: jax.Array,
    sample: bool = True,
) -> tuple[Carry, Carry, dict[str, jax.Array]]:
    """Prior rollout of `length` steps from `carry` [B, ...].

    `policy` is either a function (carry, key) -> action dict, called on the stop-gradient
    carry, or given actions {k: [B, length, ...]}. Step t splits `jax.random.split(key,
    length)[t]` into (policy key, prior key). Returns the final carry, feat [B, length, ...]
    and the actions [B, length, ...] that produced them.
    """
    keys = jax.random.split(key, length)
    carry = _cast_floats(carry, model.dtype)
    if callable(policy):
        body = functools.partial(_imagine_policy_body, model, params, policy, sample)
        carry, (feat, action) = jax.lax.scan(body, carry, keys)
    else:
        body = functools.partial(_imagine_actions_body, model, params, sample)
        carry, (feat, action) = jax.lax.scan(body, carry, (_swap_batch_time(policy), keys))
    return carry, _swap_batch_time(feat), _swap_batch_time(action)


def kl_losses(
    posterior_logit: jax.Array, prior_logit: jax.Array, config: RSSMConfig
) -> dict[str, jax.Array]:
    """dyn trains the prior towards the posterior, rep the posterior towards the prior. Each
    KL is summed over the `stoch` axis first and only then clipped below at free_nats."""
    dist = functools.partial(latent_dist, unimix=config.unimix)
    dyn = dist(stop_gradient(posterior_logit)).kl(dist(prior_logit))
    rep = dist(posterior_logit).kl(dist(stop_gradient(prior_logit)))
    if config.free_nats:
        dyn = jnp.maximum(dyn, config.free_nats)
        rep = jnp.maximum(rep, config.free_nats)
    return {"dyn": dyn, "rep": rep}


def loss(
    model: RSSM,
    params: Params,
    carry: Carry,
    tokens: jax.Array,
    action: dict[str, jax.Array],
    reset: jax.Array,
    key: jax.Array,
    sample: bool = True,
) -> tuple[Carry, Carry, dict[str, jax.Array], Carry, dict[str, jax.Array]]:
    """Observe, then the KL losses [B, T]. -> carry, entries, losses, feat, metrics."""
    carry, entries, feat = observe(model, params, carry, tokens, action, reset, key, sample)
    prior_logit = model.apply({"params": params}, feat["deter"], method=RSSM.prior)
    losses = kl_losses(feat["logit"], prior_logit, model.config)
    unimix = model.config.unimix
    metrics = {
        "dyn_ent": latent_dist(prior_logit, unimix).entropy().mean(),
        "rep_ent": latent_dist(feat["logit"], unimix).entropy().mean(),
    }
    return carry, entries, losses, feat, metrics


def starts(entries: Carry, carry: Carry, last: int) -> Carry:
    """The last `last` entries of every sequence as a flat batch [B * last, ...], the start
    states of imagination."""
    batch = jax.tree.leaves(carry)[0].shape[0]
    return jax.tree.map(lambda x: x[:, -last:].reshape((batch * last, *x.shape[2:])), entries)


def truncate(entries: Carry) -> Carry:
    """The carry after a stored sequence of entries [B, T, ...]: its last step."""
    return jax.tree.map(lambda x: x[:, -1], entries)
