"""The pieces a target may provide, as data: for the scaffold (`python -m parity_tests init`)
and the listing of what a target lacks (`python -m parity_tests pieces`). docs/TARGETS.md,
"Pieces", is their full description; tests/test_targets_doc.py keeps the names and checks here
equal to its table."""

from __future__ import annotations

from dataclasses import dataclass

DOCS = "docs/TARGETS.md"


@dataclass(frozen=True)
class Piece:
    name: str
    section: str  # the docs/TARGETS.md section under "## Pieces"
    args: str  # the call's parameters, as a stub's def writes them
    result: str  # what it returns, in short
    checks: tuple[str, ...]  # the checks it feeds (as the docs' table names them)
    official: str  # the official counterpart


_OUTPUTS = "From network outputs (any architecture)"
_UPDATE = "Update rules (any architecture)"
_OWN = "Own networks (any architecture)"
_WEIGHTS = "On the official weights"
_NETWORK = "obs_space, act_space, preset"

PIECES = (
    Piece("lambda_return", "No weights", "last, term, rew, val, boot, disc, lam",
          "[B, T-1] returns, called by keyword", ("returns/...",),
          "dreamerv3.agent.lambda_return"),
    Piece("twohot_bins", "No weights", "num_bins", "[num_bins] raw bin positions",
          ("twohot/bins/...",), "Head.symexp_twohot"),
    Piece("twohot_pred", "No weights", "logits", "[...] prediction in raw space",
          ("twohot/pred/...", "twohot/finite"), "outs.TwoHot.pred"),
    Piece("twohot_loss", "No weights", "logits, target", "[...] loss (target in raw space)",
          ("twohot/loss/...", "twohot/finite"), "outs.TwoHot.loss"),
    Piece("latent_probs", "No weights", "logits, unimix", "[..., S, C] probabilities",
          ("latents/unimix/probs",), "RSSM._dist"),
    Piece("latent_entropy", "No weights", "logits, unimix", "[...] entropy summed over S",
          ("latents/unimix/entropy",), "RSSM._dist(...).entropy()"),
    Piece("latent_kl_losses", "No weights", "post, prior, unimix, free_nats",
          '{"dyn", "rep": [...]}, KL summed over S', ("latents/kl/...",), "RSSM.loss"),
    Piece("latent_sample", "No weights", "logits, unimix, key",
          "one-hot [..., S, C] sampled with the key, straight-through",
          ("latents/straight-through", "latents/sampling-frequencies"),
          "outs.OneHot.sample / pred"),
    Piece("policy_log_prob", "No weights", "logits, action", "[B] log-probabilities",
          ("policy/categorical/...",), "Head.categorical"),
    Piece("policy_entropy", "No weights", "logits", "[B] entropies",
          ("policy/categorical/...",), "Head.categorical"),
    Piece("official_config", "Configuration", "preset",
          "{dotted official key: value} for an official preset or 'parity'",
          ("config/<preset>", "config/not-stated"), "configs.yaml presets"),
    Piece("fixed_config", "Configuration", "",
          "{dotted official key: value} your code fixes", ("config/<preset>",),
          "configs.yaml defaults"),
    Piece("imagination_loss", _OUTPUTS, "preset, inputs, retnorm",
          "{policy, value, ret, weight, adv, value_target: [N, H], retnorm, grads}",
          ("outputs/imag/...", "gradient_flow/imag/...", "time_index/imag/..."), "imag_loss"),
    Piece("replay_loss", _OUTPUTS, "preset, inputs", "{repval, ret, weight: [B, K-1], grads}",
          ("outputs/repl/...", "gradient_flow/repl/...", "time_index/repl/..."), "repl_loss"),
    Piece("world_model_terms", _OUTPUTS, "preset, inputs",
          "{image, rew, con, dyn, rep: [B, T], grads}",
          ("outputs/world_model/...", "gradient_flow/world_model/...",
           "time_index/world_model/..."), "Agent.loss world-model terms"),
    Piece("optimizer_steps", _UPDATE, "preset, params, grads",
          "{path: [K, ...]} the parameters after each update", ("update_rules/optimizer",),
          "Agent._make_opt (AGC, LaProp, momentum, warmup)"),
    Piece("slow_critic_steps", _UPDATE, "preset, slow, online",
          "{path: [K, ...]} the slow critic after each update", ("update_rules/slow_critic",),
          "SlowModel.update (slowvalue.rate, .every)"),
    Piece("total_loss", _UPDATE, f"{_NETWORK}, terms", "float: the scalar minimised",
          ("update_rules/total_loss",), "Agent.loss: sum(mean(term) * loss_scales[term])"),
    Piece("return_normaliser", _UPDATE, "preset, returns",
          '{"offset", "scale": [K]} after each update', ("update_rules/return_normaliser",),
          "Normalize (retnorm)"),
    Piece("own_params", _OWN, f"{_NETWORK}, seed", "your initial parameters, any pytree",
          ("time_index/observe/...", "gradient_flow/params/...", "update_order/losses"),
          "Agent initial variables"),
    Piece("own_losses", _OWN, f"{_NETWORK}, params, batch, seed",
          "{term: [B, K]} per-element loss terms (repval [B, K-1])",
          ("time_index/observe/...", "gradient_flow/params/...", "update_order/losses"),
          "Agent.loss"),
    Piece("own_param_group", _OWN, "path",
          '"enc" | "dyn" | "dec" | "rew" | "con" | "pol" | "val" | None',
          ("gradient_flow/params/...", "update_order/losses"), "official module prefixes"),
    Piece("own_updates", _OWN, f"{_NETWORK}, params, batches, seed, updates",
          '[{"params", "losses": {term: mean}}] after each update', ("update_order/losses",),
          "Agent.train"),
    Piece("world_model_losses", _WEIGHTS, f"{_NETWORK}, params, batch",
          "{image, rew, con, dyn, rep: [B, K]}", ("world_model/loss/...",),
          "Agent.loss (world-model terms)"),
    Piece("world_model_grads", _WEIGHTS, f"{_NETWORK}, params, batch",
          "{term: {param: d mean(term) / d param}}", ("gradients/world_model/...",),
          "jax.grad of the official terms"),
    Piece("agent_losses", _WEIGHTS, f"{_NETWORK}, variables, batch",
          "{term: [B, K]} every loss term", ("agent/loss/...", "vector_obs/loss/..."),
          "Agent.loss"),
    Piece("agent_grads", _WEIGHTS, f"{_NETWORK}, variables, batch",
          "{term: {param: d mean(term) / d param}}", ("gradients/agent/...",), "Agent.loss"),
    Piece("train_step", _WEIGHTS, f"{_NETWORK}, variables, batch",
          "new variables, every official variable",
          ("agent/train_step/variables", "agent/train_step/update",
           "agent/train_step/update-from-init", "multistep/variables",
           "agent/slow_critic/cadence"), "Agent.train"),
    Piece("policy_rollout", _WEIGHTS, f"{_NETWORK}, variables, obs",
          '{"action", "deter", "stoch"} over [B, T]', ("policy/rollout",), "Agent.policy"),
    Piece("module_outputs", _WEIGHTS, f"{_NETWORK}, params, inputs",
          "{module: output} of each module on the official values of its inputs",
          ("networks/...",), "Encoder, RSSM._core/_prior/_observe, Decoder, heads"),
    Piece("uniform_policy_samples", "Sampling sites (any architecture)",
          f"{_NETWORK}, obs, keys", '{"stoch": [N, 1, S, C], "action": {k: [N, 1, ...]}}',
          ("keys/policy/...",), "Agent.policy (nj.seed() per site)"),
    Piece("replay_sequences", "Replay and schedule", "stream, batch_size, length, key",
          "{k: [B, L, ...]} sequences of consecutive steps", ("replay/sequences/...",),
          "embodied replay + _annotate_batch"),
    Piece("update_schedule", "Replay and schedule",
          "train_ratio, envs, steps_per_collect, batch_size, batch_length, iterations",
          "[iterations] cumulative updates", ("schedule/updates/...",),
          "embodied/run/train.py with elements.when.Ratio"),
)
BY_NAME = {piece.name: piece for piece in PIECES}


def anchor(section: str) -> str:
    """The section's link target on a rendered page of docs/TARGETS.md."""
    return "#" + "".join(c for c in section.lower().replace(" ", "-") if c.isalnum() or c == "-")
