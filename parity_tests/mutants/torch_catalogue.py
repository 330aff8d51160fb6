"""The architecture-free mistakes planted in the PyTorch toy's loss code and its wrapper's call
sites (parity_tests/examples/torch_toy_*.py), for `python -m parity_tests.mutants --torch`:
the same mistakes as the catalogue's mutants of those names, written in torch, each expected
with the same tag against the torch toy and its registry. The toy's own four departures are
registered there, so each mutant is a new difference on top of them."""

from __future__ import annotations

import dataclasses

from parity_tests.mutants.catalogue import MUTANTS, Mutant, Patch, _wrap

PREFIX = "torch-"


def _modules():
    from parity_tests.examples import torch_toy_agent, torch_toy_target

    return torch_toy_agent, torch_toy_target


def unweighted_actor_critic(patch: Patch) -> None:
    toy, _ = _modules()
    patch(toy, "trajectory_weight", lambda continues: continues[:, :-1] * 0 + 1)


def discount_instead_of_contdisc(patch: Patch) -> None:
    toy, _ = _modules()
    _wrap(patch, toy, "imagination_discounts", lambda f: lambda continues: f(continues) * (
        1 - 1 / 100))


def slow_critic_targets(patch: Patch) -> None:
    toy, _ = _modules()
    patch(toy, "critic_values", lambda value_logits, slow_logits: toy.twohot_pred(slow_logits))
    for name in ("actor_critic_losses", "replay_value_loss"):
        _wrap(patch, toy, name, lambda f: lambda *args: f(
            *args[:-1], dataclasses.replace(args[-1], slowreg=0.0)))


def is_last_as_terminal_in_replay(patch: Patch) -> None:
    toy, _ = _modules()
    _wrap(patch, toy, "replay_value_loss", lambda f: lambda rewards, dones, ends, *rest: f(
        rewards, ends, ends, *rest))


def replay_bootstrap_from_critic(patch: Patch) -> None:
    toy, _ = _modules()
    _wrap(patch, toy, "replay_value_loss",
          lambda f: lambda rewards, dones, ends, valid, boot, value_logits, *rest: f(
              rewards, dones, ends, valid, toy.twohot_pred(value_logits).detach(),
              value_logits, *rest))


def replay_rewards_one_step_late(patch: Patch) -> None:
    import torch

    toy, _ = _modules()
    _wrap(patch, toy, "replay_value_loss", lambda f: lambda rewards, *rest: f(
        torch.cat([rewards[:, 1:], torch.zeros_like(rewards[:, :1])], 1), *rest))


def replay_weight_from_the_previous_step(patch: Patch) -> None:
    import torch

    toy, _ = _modules()
    _wrap(patch, toy, "replay_value_loss", lambda f: lambda rewards, dones, ends, valid, *rest: f(
        rewards, dones, ends, torch.cat([torch.ones_like(valid[:, :1]), valid[:, :-1]], 1),
        *rest))


def imagined_continuation_as_mode(patch: Patch) -> None:
    _, target = _modules()
    _wrap(patch, target, "imagination_loss", lambda f: lambda preset, inputs, retnorm: f(
        preset, {**inputs, "con": (inputs["con"] > 0.5).float()}, retnorm))


def imagination_lambda_in_code(patch: Patch) -> None:
    toy, _ = _modules()
    _wrap(patch, toy, "actor_critic_losses", lambda f: lambda *args: f(
        *args[:-1], dataclasses.replace(args[-1], lam=0.9)))


def decoder_without_sigmoid(patch: Patch) -> None:
    toy, _ = _modules()
    patch(toy, "image_mean", lambda image_logits: image_logits)


def return_range_max_min(patch: Patch) -> None:
    toy, _ = _modules()

    def normaliser_update(state, returns, config):
        lo, hi = returns.detach().min(), returns.detach().max()
        rate = config.retnorm_rate
        return {"lo": (1 - rate) * state["lo"] + rate * lo,
                "hi": (1 - rate) * state["hi"] + rate * hi}

    patch(toy, "normaliser_update", normaliser_update)


def world_model_targets_one_step_early(patch: Patch) -> None:
    import torch

    toy, _ = _modules()

    def early(x):
        return torch.cat([x[:, 1:], x[:, -1:]], 1)

    _wrap(patch, toy, "world_model_losses",
          lambda f: lambda image_logits, images, reward_logits, previous_rewards, con_logit,
          terminal, *rest: f(image_logits, images, reward_logits, early(previous_rewards),
                             con_logit, early(terminal), *rest))


def _mutant(name, tag, plant, ci_sample=False):
    return Mutant(PREFIX + name, tag, MUTANTS[name].description, plant,
                  architecture_free=True, ci_sample=ci_sample)


TORCH_MUTANTS = {m.name: m for m in [
    _mutant("unweighted-actor-critic", "CRITDIFF", unweighted_actor_critic, ci_sample=True),
    _mutant("discount-instead-of-contdisc", "CRITDIFF", discount_instead_of_contdisc),
    _mutant("slow-critic-targets", "CRITDIFF", slow_critic_targets),
    _mutant("is-last-as-terminal-in-replay", "CRITDIFF", is_last_as_terminal_in_replay),
    _mutant("replay-bootstrap-from-critic", "CRITDIFF", replay_bootstrap_from_critic),
    _mutant("replay-rewards-one-step-late", "BUG", replay_rewards_one_step_late,
            ci_sample=True),
    _mutant("replay-weight-from-the-previous-step", "BUG",
            replay_weight_from_the_previous_step),
    _mutant("imagined-continuation-as-mode", "CRITDIFF", imagined_continuation_as_mode),
    _mutant("imagination-lambda-in-code", "CONFIG", imagination_lambda_in_code),
    _mutant("decoder-without-sigmoid", "DIFF", decoder_without_sigmoid, ci_sample=True),
    _mutant("return-range-max-min", "CRITDIFF", return_range_max_min),
    _mutant("world-model-targets-one-step-early", "BUG", world_model_targets_one_step_early),
]}
# Both catalogues, for what takes a mutant by name (`pytest --mutant NAME`, the runner's rows).
EVERY_MUTANT = {**MUTANTS, **TORCH_MUTANTS}
