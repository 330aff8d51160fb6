"""A worked example target: a small, deliberately different DreamerV3 piece set.

It shows the shape of a wrapper around someone else's implementation:
- its lambda return is written in the TEXTBOOK convention (reward[t] is the reward for the
  action taken at t), and the wrapper shifts the official-layout inputs onto it;
- its two-hot head uses the first DreamerV3 release's bins (evenly spaced in symlog space,
  expectation symexp'd), which the suite reports as [DIFF] findings;
- its KL averages over latents instead of summing ([CRITDIFF]);
- its policy adds 1% unimix, which the official policy head does not ([DIFF]).

Run it: pytest parity_tests -k "returns or twohot or latents" \
            --target docs.toy_target:make_target --registry docs/toy_registry.toml
"""

from __future__ import annotations

from types import SimpleNamespace

import jax
import jax.numpy as jnp

sg = jax.lax.stop_gradient


def symlog(x):
    return jnp.sign(x) * jnp.log1p(jnp.abs(x))


def symexp(x):
    return jnp.sign(x) * jnp.expm1(jnp.abs(x))


# ----------------------------------------------------------- the toy implementation


def textbook_lambda_return(rewards, values, discounts, lam):
    """G[t] = r[t] + d[t] * ((1 - lam) * V[t+1] + lam * G[t+1]), G[T-1] = V[T-1]... over
    rewards/discounts [B, T-1] of the actions at t and values [B, T]."""

    def step(next_return, inputs):
        reward, discount, next_value = inputs
        value = reward + discount * ((1 - lam) * next_value + lam * next_return)
        return value, value

    inputs = (rewards.T, discounts.T, values[:, 1:].T)
    _, returns = jax.lax.scan(step, values[:, -1], inputs, reverse=True)
    return returns.T


def toy_bins(num_bins):
    return symexp(jnp.linspace(-20.0, 20.0, num_bins))


# ------------------------------------------------- the wrapper: official conventions


def lambda_return(last, term, rew, val, boot, disc, lam):
    """Official layout -> textbook: the reward and discount of the transition t -> t+1 sit at
    index t+1 in the official arrays. The official return also cuts the lambda-mixing where
    `last` marks a truncation, falling back to the bootstrap value there."""
    rewards = rew[:, 1:]
    discounts = (1 - term[:, 1:]) * disc
    mixing = lam * (1 - last[:, 1:])
    values = boot

    def step(next_return, inputs):
        reward, discount, mix, next_value = inputs
        value = reward + discount * ((1 - mix) * next_value + mix * next_return)
        return value, value

    inputs = (rewards.T, discounts.T, mixing.T, values[:, 1:].T)
    _, returns = jax.lax.scan(step, values[:, -1], inputs, reverse=True)
    return returns.T


def twohot_pred(logits):
    probs = jax.nn.softmax(logits, -1)
    return symexp((probs * jnp.linspace(-20.0, 20.0, logits.shape[-1])).sum(-1))


def twohot_loss(logits, target):
    bins = jnp.linspace(-20.0, 20.0, logits.shape[-1])
    target = jnp.clip(symlog(target), bins[0], bins[-1])
    index = jnp.clip(jnp.searchsorted(bins, target) - 1, 0, len(bins) - 2)
    weight_above = (target - bins[index]) / (bins[index + 1] - bins[index])
    onehot = jax.nn.one_hot(index, len(bins))
    twohot = onehot * (1 - weight_above)[..., None] + jnp.roll(onehot, 1, -1) * weight_above[
        ..., None]
    return -(twohot * jax.nn.log_softmax(logits, -1)).sum(-1)


def latent_probs(logits, unimix):
    return (1 - unimix) * jax.nn.softmax(logits, -1) + unimix / logits.shape[-1]


def latent_entropy(logits, unimix):
    probs = latent_probs(logits, unimix)
    return -(probs * jnp.log(probs)).sum((-2, -1))


def latent_kl_losses(post, prior, unimix, free_nats):
    def kl(p, q):
        p_probs, q_probs = latent_probs(p, unimix), latent_probs(q, unimix)
        # Deliberately the mean over latents: a common re-implementation choice.
        return (p_probs * (jnp.log(p_probs) - jnp.log(q_probs))).sum(-1).mean(-1)

    dyn, rep = kl(sg(post), prior), kl(post, sg(prior))
    return {"dyn": jnp.maximum(dyn, free_nats), "rep": jnp.maximum(rep, free_nats)}


def latent_sample(logits, unimix, key):
    probs = latent_probs(logits, unimix)
    if key is None:
        index = jnp.argmax(probs, -1)
    else:
        index = jax.random.categorical(key, jnp.log(probs), -1)
    onehot = jax.nn.one_hot(index, logits.shape[-1])
    return onehot + probs - sg(probs)


def policy_log_prob(logits, action):
    log_probs = jnp.log(latent_probs(logits, 0.01))
    return jnp.take_along_axis(log_probs, action[..., None], -1)[..., 0]


def policy_entropy(logits):
    probs = latent_probs(logits, 0.01)
    return -(probs * jnp.log(probs)).sum(-1)


def make_target():
    return SimpleNamespace(
        name="toy",
        lambda_return=lambda last, term, rew, val, boot, disc, lam: lambda_return(
            *(jnp.asarray(x, jnp.float32) for x in (last, term, rew, val, boot)), disc, lam),
        twohot_bins=toy_bins,
        twohot_pred=twohot_pred,
        twohot_loss=twohot_loss,
        latent_probs=latent_probs,
        latent_entropy=latent_entropy,
        latent_kl_losses=latent_kl_losses,
        latent_sample=latent_sample,
        policy_log_prob=policy_log_prob,
        policy_entropy=policy_entropy,
    )
