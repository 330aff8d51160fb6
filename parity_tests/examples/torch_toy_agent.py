"""A toy DreamerV3 in PyTorch: networks and loss code of a small re-implementation.

This file stands for YOUR PyTorch code; torch_toy_target.py beside it is the wrapper the suite
calls. Its loss code makes the JAX toy's four choices (toy_agent.py), written again in torch:
- TEXTBOOK time indices: `rewards[t]` is the reward for the action taken in state t;
- the first DreamerV3 release's two-hot (bins evenly spaced in symlog space, the expectation
  taken there and symexp'd);
- the KL averaged over latents instead of summed;
- a policy with 1% unimix.
Its own networks (`ToyWorldModel`, an MLP encoder and decoder, a GRU core, MLP heads) add a
fifth, a mistake PyTorch ports have made: the previous action is NOT reset at an episode start
(the deterministic state and the latent are). Everything else (lambda returns, the percentile
return normaliser, trajectory weights, stop-gradients, loss targets) follows the official
agent, written from scratch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# The JAX toy's hyperparameters (the official loss hyperparameters): the same choices, a plain
# dataclass, so both toys read one statement of them.
from parity_tests.examples.toy_agent import ToyConfig


def symlog(x):
    return torch.sign(x) * torch.log1p(torch.abs(x))


def symexp(x):
    return torch.sign(x) * torch.expm1(torch.abs(x))


# ------------------------------------------------------------------- distributions


def symlog_bins(num_bins):
    return torch.linspace(-20.0, 20.0, num_bins)


def twohot_pred(logits):
    probs = torch.softmax(logits, -1)
    return symexp((probs * symlog_bins(logits.shape[-1])).sum(-1))


def twohot_loss(logits, target):
    bins = symlog_bins(logits.shape[-1])
    target = torch.clip(symlog(torch.as_tensor(target, dtype=logits.dtype)), bins[0], bins[-1])
    index = torch.clip(torch.searchsorted(bins, target.contiguous()) - 1, 0, len(bins) - 2)
    above = (target - bins[index]) / (bins[index + 1] - bins[index])
    onehot = F.one_hot(index, len(bins)).to(logits.dtype)
    twohot = onehot * (1 - above)[..., None] + torch.roll(onehot, 1, -1) * above[..., None]
    return -(twohot * torch.log_softmax(logits, -1)).sum(-1)


def latent_probs(logits, unimix):
    return (1 - unimix) * torch.softmax(logits, -1) + unimix / logits.shape[-1]


def latent_entropy(logits, unimix):
    probs = latent_probs(logits, unimix)
    return -(probs * torch.log(probs)).sum((-2, -1))


def latent_sample(logits, unimix, generator):
    probs = latent_probs(logits, unimix)
    flat = probs.detach().reshape(-1, probs.shape[-1])
    index = torch.multinomial(flat, 1, generator=generator).reshape(probs.shape[:-1])
    return F.one_hot(index, logits.shape[-1]).to(probs.dtype) + probs - probs.detach()


def latent_kl_losses(post, prior, unimix, free_nats):
    def kl(p, q):
        p_probs, q_probs = latent_probs(p, unimix), latent_probs(q, unimix)
        # Deliberately the mean over latents: a common re-implementation choice.
        return (p_probs * (torch.log(p_probs) - torch.log(q_probs))).sum(-1).mean(-1)

    dyn, rep = kl(post.detach(), prior), kl(post, prior.detach())
    return {"dyn": torch.clamp(dyn, min=free_nats), "rep": torch.clamp(rep, min=free_nats)}


def policy_log_prob(logits, action, unimix=ToyConfig.policy_unimix):
    log_probs = torch.log(latent_probs(logits, unimix))
    return torch.take_along_dim(log_probs, action.long()[..., None], -1)[..., 0]


def policy_entropy(logits, unimix=ToyConfig.policy_unimix):
    probs = latent_probs(logits, unimix)
    return -(probs * torch.log(probs)).sum(-1)


# ------------------------------------------------------------- returns and normaliser


def lambda_return(rewards, values, discounts, lambdas):
    """G[t] = r[t] + d[t] * ((1 - l[t]) * V[t+1] + l[t] * G[t+1]) with G[T] = V[T]: rewards,
    discounts and lambdas [B, T] of the action taken in state t, values [B, T+1] of the
    states. A per-step lambda of 0 cuts the return at an episode boundary."""
    lambdas = torch.broadcast_to(torch.as_tensor(lambdas, dtype=rewards.dtype), rewards.shape)
    returns, following = [], values[:, -1]
    for t in reversed(range(rewards.shape[1])):
        following = rewards[:, t] + discounts[:, t] * (
            (1 - lambdas[:, t]) * values[:, t + 1] + lambdas[:, t] * following)
        returns.append(following)
    return torch.stack(returns[::-1], 1)


def normaliser_update(state, returns, config):
    """An EMA of the 5th and 95th percentiles of the returns: state {lo, hi}."""
    q = torch.tensor(config.retnorm_percentiles, dtype=returns.dtype) / 100
    lo, hi = torch.quantile(returns.detach().flatten(), q)
    rate = config.retnorm_rate
    return {"lo": (1 - rate) * state["lo"] + rate * lo, "hi": (1 - rate) * state["hi"] + rate * hi}


def normaliser_scale(state, config):
    return torch.clamp(state["hi"] - state["lo"], min=config.retnorm_limit).detach()


# ------------------------------------------------------------------------- losses


def actor_critic_losses(policy_logits, actions, rewards, continues, value_logits,
                        slow_logits, normaliser, config):
    """Imagined states 0..H (policy_logits [N, H+1, A], actions, continues, value and slow
    value logits [N, H+1, ...]), rewards [N, H] of the action taken in state t. Returns the
    per-step losses and what they are made of [N, H], and the updated normaliser."""
    values = critic_values(value_logits, slow_logits)  # [N, H+1]
    weight = trajectory_weight(continues)
    returns = lambda_return(rewards, values, imagination_discounts(continues), config.lam)
    normaliser = normaliser_update(normaliser, returns, config)
    advantage = (returns - values[:, :-1]) / normaliser_scale(normaliser, config)
    log_prob = policy_log_prob(policy_logits[:, :-1], actions[:, :-1], config.policy_unimix)
    entropy = policy_entropy(policy_logits[:, :-1], config.policy_unimix)
    policy = -weight.detach() * (log_prob * advantage.detach() + config.actent * entropy)
    value = weight.detach() * _value_loss(value_logits[:, :-1], returns, slow_logits[:, :-1],
                                          config)
    losses = {"policy": policy, "value": value, "ret": returns, "weight": weight,
              "adv": advantage}
    return losses, normaliser


def critic_values(value_logits, slow_logits):
    """The values the returns bootstrap from and the advantages subtract: the online critic's."""
    return twohot_pred(value_logits)


def imagination_discounts(continues):
    """[N, H]: each imagined step's discount, its successor's continuation (contdisc: the
    continuation target already holds the horizon's 1 - 1/horizon)."""
    return continues[:, 1:]


def trajectory_weight(continues):
    """[N, H]: the probability that imagined state t is still in the episode."""
    return torch.cumprod(continues, 1)[:, :-1]


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
    return (twohot_loss(value_logits, returns.detach())
            + config.slowreg * twohot_loss(value_logits, slow_values.detach()))


def image_mean(image_logits):
    return torch.sigmoid(image_logits)


def world_model_losses(image_logits, images, reward_logits, previous_rewards, con_logit,
                       terminal, post_logits, prior_logits, config):
    """Per state t [B, T]: the reward head reads state t, so it predicts the reward of the
    action that led to it (`previous_rewards[t]`, textbook rewards[t-1]); the continuation
    head predicts that state t is not terminal."""
    pixels = images.to(torch.float32) / 255
    image = ((image_mean(image_logits) - pixels) ** 2).sum((-3, -2, -1))
    target = (1 - terminal.to(torch.float32)) * (1 - 1 / config.horizon)
    con = -(target * F.logsigmoid(con_logit) + (1 - target) * F.logsigmoid(-con_logit))
    kl = latent_kl_losses(post_logits, prior_logits, config.latent_unimix, config.free_nats)
    return {"image": image, "rew": twohot_loss(reward_logits, previous_rewards), "con": con,
            **kl}
