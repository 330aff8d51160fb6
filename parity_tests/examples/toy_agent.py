"""A toy DreamerV3: the loss code of a small re-implementation written in its own style.

This file stands for YOUR code; toy_target.py beside it is the wrapper the suite calls. It
deliberately differs from the official agent in its conventions and in a few choices:
- TEXTBOOK time indices: `rewards[t]` is the reward for the action taken in state t (the
  official arrays put it at t + 1, with the observation it arrived with);
- the first DreamerV3 release's two-hot: bins evenly spaced in symlog space, targets symlog'd
  before interpolation, the expectation taken in symlog space and symexp'd;
- the KL averaged over latents instead of summed;
- a policy with 1% unimix (as the paper says; the official discrete policy has none).
Everything else (lambda returns, the percentile return normaliser, trajectory weights,
stop-gradients, loss targets) follows the official agent, written from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

sg = jax.lax.stop_gradient


@dataclass(frozen=True)
class ToyConfig:
    lam: float = 0.95
    horizon: int = 333  # discount 1 - 1/horizon for replayed steps and continuation targets
    actent: float = 3e-4
    slowreg: float = 1.0
    retnorm_rate: float = 0.01
    retnorm_limit: float = 1.0
    retnorm_percentiles: tuple[float, float] = (5.0, 95.0)
    latent_unimix: float = 0.01
    free_nats: float = 1.0
    policy_unimix: float = 0.01


def symlog(x):
    return jnp.sign(x) * jnp.log1p(jnp.abs(x))


def symexp(x):
    return jnp.sign(x) * jnp.expm1(jnp.abs(x))


# ------------------------------------------------------------------- distributions


def symlog_bins(num_bins):
    return jnp.linspace(-20.0, 20.0, num_bins)


def twohot_pred(logits):
    probs = jax.nn.softmax(logits, -1)
    return symexp((probs * symlog_bins(logits.shape[-1])).sum(-1))


def twohot_loss(logits, target):
    bins = symlog_bins(logits.shape[-1])
    target = jnp.clip(symlog(target), bins[0], bins[-1])
    index = jnp.clip(jnp.searchsorted(bins, target) - 1, 0, len(bins) - 2)
    above = (target - bins[index]) / (bins[index + 1] - bins[index])
    onehot = jax.nn.one_hot(index, len(bins))
    twohot = onehot * (1 - above)[..., None] + jnp.roll(onehot, 1, -1) * above[..., None]
    return -(twohot * jax.nn.log_softmax(logits, -1)).sum(-1)


def latent_probs(logits, unimix):
    return (1 - unimix) * jax.nn.softmax(logits, -1) + unimix / logits.shape[-1]


def latent_entropy(logits, unimix):
    probs = latent_probs(logits, unimix)
    return -(probs * jnp.log(probs)).sum((-2, -1))


def latent_sample(logits, unimix, key):
    probs = latent_probs(logits, unimix)
    index = jax.random.categorical(key, jnp.log(probs), -1)
    return jax.nn.one_hot(index, logits.shape[-1]) + probs - sg(probs)


def latent_kl_losses(post, prior, unimix, free_nats):
    def kl(p, q):
        p_probs, q_probs = latent_probs(p, unimix), latent_probs(q, unimix)
        # Deliberately the mean over latents: a common re-implementation choice.
        return (p_probs * (jnp.log(p_probs) - jnp.log(q_probs))).sum(-1).mean(-1)

    dyn, rep = kl(sg(post), prior), kl(post, sg(prior))
    return {"dyn": jnp.maximum(dyn, free_nats), "rep": jnp.maximum(rep, free_nats)}


def policy_log_prob(logits, action, unimix=ToyConfig.policy_unimix):
    log_probs = jnp.log(latent_probs(logits, unimix))
    return jnp.take_along_axis(log_probs, action[..., None], -1)[..., 0]


def policy_entropy(logits, unimix=ToyConfig.policy_unimix):
    probs = latent_probs(logits, unimix)
    return -(probs * jnp.log(probs)).sum(-1)


# ------------------------------------------------------------- returns and normaliser


def lambda_return(rewards, values, discounts, lambdas):
    """G[t] = r[t] + d[t] * ((1 - l[t]) * V[t+1] + l[t] * G[t+1]) with G[T] = V[T]: rewards,
    discounts and lambdas [B, T] of the action taken in state t, values [B, T+1] of the
    states. A per-step lambda of 0 cuts the return at an episode boundary."""
    lambdas = jnp.broadcast_to(lambdas, rewards.shape)

    def step(next_return, inputs):
        reward, discount, lam, next_value = inputs
        ret = reward + discount * ((1 - lam) * next_value + lam * next_return)
        return ret, ret

    inputs = (rewards.T, discounts.T, lambdas.T, values[:, 1:].T)
    _, returns = jax.lax.scan(step, values[:, -1], inputs, reverse=True)
    return returns.T


def normaliser_update(state, returns, config):
    """An EMA of the 5th and 95th percentiles of the returns: state {lo, hi}."""
    lo, hi = jnp.quantile(sg(returns), jnp.array(config.retnorm_percentiles) / 100)
    rate = config.retnorm_rate
    return {"lo": (1 - rate) * state["lo"] + rate * lo, "hi": (1 - rate) * state["hi"] + rate * hi}


def normaliser_scale(state, config):
    return sg(jnp.maximum(config.retnorm_limit, state["hi"] - state["lo"]))


# ------------------------------------------------------------------------- losses


def actor_critic_losses(policy_logits, actions, rewards, continues, value_logits,
                        slow_logits, normaliser, config):
    """Imagined states 0..H (policy_logits [N, H+1, A], actions, continues, value and slow
    value logits [N, H+1, ...]), rewards [N, H] of the action taken in state t. Returns the
    per-step losses and what they are made of [N, H], and the updated normaliser."""
    values = twohot_pred(value_logits)  # [N, H+1]
    weight = jnp.cumprod(continues, 1)[:, :-1]  # probability the trajectory is still alive
    returns = lambda_return(rewards, values, continues[:, 1:], config.lam)
    normaliser = normaliser_update(normaliser, returns, config)
    advantage = (returns - values[:, :-1]) / normaliser_scale(normaliser, config)
    log_prob = policy_log_prob(policy_logits[:, :-1], actions[:, :-1], config.policy_unimix)
    entropy = policy_entropy(policy_logits[:, :-1], config.policy_unimix)
    policy = -sg(weight) * (log_prob * sg(advantage) + config.actent * entropy)
    value = sg(weight) * _value_loss(value_logits[:, :-1], returns, slow_logits[:, :-1], config)
    losses = {"policy": policy, "value": value, "ret": returns, "weight": weight,
              "adv": advantage}
    return losses, normaliser


def replay_value_loss(rewards, dones, ends, valid, boot, value_logits, slow_logits, config):
    """Replayed transitions t = 0..K-2 (rewards, dones: true terminal, ends: the episode
    ended, valid: no episode boundary inside) [B, K-1]; states 0..K-1: `boot` (each state's
    imagined return), value and slow value logits [B, K, bins]."""
    discounts = (1 - dones) * (1 - 1 / config.horizon)
    returns = lambda_return(rewards, boot, discounts, config.lam * (1 - ends))
    loss = valid * _value_loss(value_logits[:, :-1], returns, slow_logits[:, :-1], config)
    return {"repval": loss, "ret": returns, "weight": valid}


def _value_loss(value_logits, returns, slow_logits, config):
    slow_values = twohot_pred(slow_logits)
    return (twohot_loss(value_logits, sg(returns))
            + config.slowreg * twohot_loss(value_logits, sg(slow_values)))


def world_model_losses(image_logits, images, reward_logits, previous_rewards, con_logit,
                       terminal, post_logits, prior_logits, config):
    """Per state t [B, T]: the reward head reads state t, so it predicts the reward of the
    action that led to it (`previous_rewards[t]`, textbook rewards[t-1]); the continuation
    head predicts that state t is not terminal."""
    pixels = images.astype(jnp.float32) / 255
    image = ((jax.nn.sigmoid(image_logits) - pixels) ** 2).sum((-3, -2, -1))
    target = (1 - terminal.astype(jnp.float32)) * (1 - 1 / config.horizon)
    con = -(target * jax.nn.log_sigmoid(con_logit)
            + (1 - target) * jax.nn.log_sigmoid(-con_logit))
    kl = latent_kl_losses(post_logits, prior_logits, config.latent_unimix, config.free_nats)
    return {"image": image, "rew": twohot_loss(reward_logits, previous_rewards), "con": con,
            **kl}
