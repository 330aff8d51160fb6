"""The torch toy's own networks and the loss of one training step (torch_toy_agent.py has the
loss code): an MLP encoder on the image pooled to 8x8, a GRU core with a categorical latent,
an MLP decoder, MLP reward, continuation, policy and value heads and a slow value head.
Shapes follow the suite's operating point (deter 64, 4 latents of 8 classes, 32 units, 255
bins). It deliberately does NOT reset the previous action at an episode start (the state and
the latent are reset): a carry mistake PyTorch ports have made.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from parity_tests.examples import torch_toy_agent as toy

TRAINED = ("enc", "dyn", "dec", "rew", "con", "pol", "val")  # slowval follows val, untrained
POOL = 8  # the image is averaged over 8x8 patches before the encoder


def _mlp(inputs: int, units: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, units), nn.SiLU(), nn.Linear(units, units),
                         nn.SiLU(), nn.Linear(units, outputs))


class ToyWorldModel(nn.Module):
    def __init__(self, image_shape=(64, 64, 3), actions=17, deter=64, stoch=4, classes=8,
                 units=32, bins=255):
        super().__init__()
        self.image_shape, self.actions = tuple(image_shape), actions
        self.stoch, self.classes = stoch, classes
        pixels = (image_shape[0] // POOL) * (image_shape[1] // POOL) * image_shape[2]
        latent, feat = stoch * classes, deter + stoch * classes
        self.enc = _mlp(pixels, units, units)
        self.dyn = nn.ModuleDict({
            "inputs": nn.Linear(latent + actions, units), "core": nn.GRUCell(units, deter),
            "prior": _mlp(deter, units, latent), "post": _mlp(deter + units, units, latent)})
        self.dec = _mlp(feat, units, pixels)
        self.rew, self.con = _mlp(feat, units, bins), _mlp(feat, units, 1)
        self.pol, self.val, self.slowval = (_mlp(feat, units, actions), _mlp(feat, units, bins),
                                            _mlp(feat, units, bins))

    def step(self, deter, latent, previous_action):
        """One step of the core: -> (deter, prior logits [.., S, C])."""
        deter = self.dyn["core"](self.dyn["inputs"](torch.cat([latent, previous_action], -1)),
                                 deter)
        return deter, self.dyn["prior"](deter).unflatten(-1, (self.stoch, self.classes))

    def pooled(self, image):
        height, width, channels = self.image_shape
        pixels = image.to(torch.float32) / 255
        pixels = pixels.unflatten(-3, (height // POOL, POOL)).unflatten(-2, (width // POOL, POOL))
        return pixels.mean((-4, -2)).flatten(-3)

    def image_logits(self, feat):
        height, width, channels = self.image_shape
        small = self.dec(feat).unflatten(-1, (height // POOL, width // POOL, channels))
        return small.repeat_interleave(POOL, -3).repeat_interleave(POOL, -2)


def _noise(generator, shape):
    """Gumbel noise drawn up front, so a sample never depends on what came before it."""
    uniform = torch.rand(shape, generator=generator).clamp(1e-6, 1 - 1e-6)
    return -torch.log(-torch.log(uniform))


def _sample(logits, unimix, noise):
    probs = toy.latent_probs(logits, unimix)
    index = (torch.log(probs.detach()) + noise).argmax(-1)
    return F.one_hot(index, logits.shape[-1]).to(probs.dtype) + probs - probs.detach()


def losses(model: ToyWorldModel, batch: dict, seed: int, config: toy.ToyConfig,
           horizon: int = 15) -> dict:
    """Every loss term of one step per element: the world model on replayed steps 1..T-1 from
    the stored state of step 0 ([B, K]), the actor-critic from each of those posteriors
    ([B, K], the imagined losses averaged over the horizon), the replay value loss [B, K-1]."""
    generator = torch.Generator().manual_seed(seed)
    action, is_first = batch["action"].long(), batch["is_first"]
    batch_size, length = action.shape
    embed = model.enc(model.pooled(batch["image"]))
    deter, latent = batch["dyn/deter"][:, 0], batch["dyn/stoch"][:, 0].flatten(-2)
    previous = F.one_hot(action[:, 0], model.actions).float()
    noise = _noise(generator, (length, batch_size, model.stoch, model.classes))
    feats, priors, posts = [], [], []
    for t in range(1, length):
        keep = (~is_first[:, t]).float()[:, None]
        # Deliberately only the state and the latent: the previous action is carried on.
        deter, prior = model.step(deter * keep, latent * keep, previous)
        post = model.dyn["post"](torch.cat([deter, embed[:, t]], -1)).unflatten(
            -1, (model.stoch, model.classes))
        latent = _sample(post, config.latent_unimix, noise[t]).flatten(-2)
        feats.append(torch.cat([deter, latent], -1))
        priors.append(prior)
        posts.append(post)
        previous = F.one_hot(action[:, t], model.actions).float()
    feat = torch.stack(feats, 1)  # [B, K, feat]
    world = toy.world_model_losses(
        model.image_logits(feat), batch["image"][:, 1:], model.rew(feat),
        batch["reward"][:, 1:], model.con(feat)[..., 0], batch["is_terminal"][:, 1:],
        torch.stack(posts, 1), torch.stack(priors, 1), config)
    imagined = _imagine(model, feat.detach(), generator, config, horizon)
    actor_critic = {k: v.mean(-1).reshape(batch_size, length - 1)
                    for k, v in imagined.items() if k in ("policy", "value")}
    boot = imagined["ret"][:, 0].reshape(batch_size, length - 1)
    last, term = (batch[k][:, 1:].float() for k in ("is_last", "is_terminal"))
    with torch.no_grad():
        slow = model.slowval(feat)
    replay = toy.replay_value_loss(
        batch["reward"][:, 2:], term[:, 1:], last[:, 1:], 1 - last[:, :-1], boot.detach(),
        model.val(feat), slow, config)
    return {**world, **actor_critic, "repval": replay["repval"]}


def _imagine(model, start, generator, config, horizon):
    """The actor-critic losses [N, H] from N = B * K starting states (detached)."""
    feat = start.flatten(0, 1)
    deter_size = feat.shape[-1] - model.stoch * model.classes
    deter, latent = feat[:, :deter_size], feat[:, deter_size:]
    action_noise = _noise(generator, (horizon + 1, feat.shape[0], model.actions))
    latent_noise = _noise(generator, (horizon, feat.shape[0], model.stoch, model.classes))
    feats, actions = [], []
    with torch.no_grad():  # the world model is not trained by the actor-critic losses
        for h in range(horizon + 1):
            feats.append(torch.cat([deter, latent], -1))
            logits = model.pol(feats[-1])
            probs = toy.latent_probs(logits, config.policy_unimix)
            actions.append((torch.log(probs) + action_noise[h]).argmax(-1))
            if h < horizon:
                deter, prior = model.step(deter, latent,
                                          F.one_hot(actions[-1], model.actions).float())
                latent = _sample(prior, config.latent_unimix, latent_noise[h]).flatten(-2)
        feat = torch.stack(feats, 1)  # [N, H+1, feat]
        reward = toy.twohot_pred(model.rew(feat))
        con = torch.sigmoid(model.con(feat)[..., 0])  # the start's too, as predicted
        slow = model.slowval(feat)
    losses, _ = toy.actor_critic_losses(
        model.pol(feat), torch.stack(actions, 1), reward[:, 1:], con, model.val(feat), slow,
        {"lo": torch.tensor(0.0), "hi": torch.tensor(0.0)}, config)
    return losses
