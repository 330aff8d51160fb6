"""Realistic DreamerV3 re-implementation mistakes, planted one at a time into the reimpl.

Each mutant replaces one function of `reimpl` (module attributes, so every caller sees it) for
the whole test process; the product code has no switches. The suite then runs unchanged
against the mutated reimpl: a mutant is caught only by comparisons with the official agent or
by properties the official agent satisfies, never by a test that knows the mutant.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from reimpl import agent as agent_lib
from reimpl import (
    decoder,
    distributions,
    encoder,
    heads,
    losses,
    nets,
    normalize,
    optimizer,
    returns,
    rssm,
    world_model,
)
from reimpl.nets import activation, apply_mask, symexp, symlog
from reimpl.train import loop, replay

Patch = Callable[[object, str, object], None]  # patch(owner, attribute, replacement)


@dataclass(frozen=True)
class Mutant:
    name: str
    tag: str  # the tag the suite should give it
    description: str
    plant: Callable[[Patch], None]
    # Planted in code the architecture-free pieces run (losses on network outputs, their call
    # sites): `make mutants` also runs it against the reimpl through those pieces alone.
    architecture_free: bool = False
    # In CI's sample (`make mutants-ci`: what two cores afford), run in one pass: the
    # architecture-free one if marked so. Every tag of each pass is sampled (tested).
    ci_sample: bool = False
    # An architecture of its own (a parameter the official weights lack): it cannot take the
    # official weights, so it runs in the architecture-free pass only.
    own_architecture: bool = False

    def __post_init__(self):
        if self.own_architecture and not self.architecture_free:
            raise ValueError(f"{self.name}: an own architecture runs architecture-free only")


def _wrap(patch: Patch, owner, name: str, make: Callable) -> None:
    """Replace owner.name with make(original)."""
    patch(owner, name, make(getattr(owner, name)))


# ---------------------------------------------------------------- randomness

def _policy_step_one_key(agent, params, carry, obs, key, sample=True):
    """reimpl.agent.policy_step with one key for the posterior and the action sample."""
    model = agent.world_model
    sensory = {k: obs[k] for k in model.sensory_keys}
    tokens = model.encoder.apply({"params": agent_lib._module(params, "enc")}, sensory, bdims=1)
    rssm_carry, entry, feat = model.rssm.apply(
        {"params": agent_lib._module(params, "dyn")}, carry["rssm"], tokens, carry["prevact"],
        obs["is_first"], key, sample, method=rssm.RSSM.observe_step)
    dists = agent.policy.apply({"params": agent_lib._module(params, "pol")},
                               rssm.feat_to_tensor(feat), 1)
    action = {k: d.sample(key) if sample else d.pred() for k, d in dists.items()}
    entries = {f"dyn/{k}": v for k, v in entry.items()}
    return {"rssm": rssm_carry, "prevact": action}, action, entries


def shared_key(patch):
    patch(agent_lib, "policy_step", _policy_step_one_key)


# ---------------------------------------------------------------- latents and KL

def _kl_losses(post_unimix: float | None = None, prior_unimix: float | None = None,
               reduce: str = "sum", clip: str = "after", swap_stop_gradients: bool = False):
    def kl_losses(posterior_logit, prior_logit, config):
        stoch = posterior_logit.shape[-2]
        post_mix = config.unimix if post_unimix is None else post_unimix
        prior_mix = config.unimix if prior_unimix is None else prior_unimix
        sg = jax.lax.stop_gradient
        post = distributions.OneHot(posterior_logit, post_mix)
        prior = distributions.OneHot(prior_logit, prior_mix)
        sg_post = distributions.OneHot(sg(posterior_logit), post_mix)
        sg_prior = distributions.OneHot(sg(prior_logit), prior_mix)
        if swap_stop_gradients:
            dyn, rep = post.kl(sg_prior), sg_post.kl(prior)
        else:
            dyn, rep = sg_post.kl(prior), post.kl(sg_prior)  # [B, T, S]
        per_latent = config.free_nats / stoch if clip == "per-latent" else 0.0
        result = {}
        for name, kl in (("dyn", dyn), ("rep", rep)):
            kl = jnp.maximum(kl, per_latent).sum(-1)
            kl = kl / stoch if reduce == "mean" else kl
            result[name] = jnp.maximum(kl, config.free_nats) if clip == "after" else kl
        return result

    return kl_losses


def kl_mean(patch):
    patch(rssm, "kl_losses", _kl_losses(reduce="mean"))


def free_nats_per_latent(patch):
    patch(rssm, "kl_losses", _kl_losses(clip="per-latent"))


def kl_stop_gradients_swapped(patch):
    patch(rssm, "kl_losses", _kl_losses(swap_stop_gradients=True))


def prior_without_unimix(patch):
    patch(rssm, "kl_losses", _kl_losses(prior_unimix=0.0))


def no_straight_through(patch):
    def onehot(self, index):
        value = jax.nn.one_hot(index, self.dist.logits.shape[-1], dtype=jnp.float32)
        return jax.lax.stop_gradient(value)

    patch(distributions.OneHot, "_onehot_with_grad", onehot)


# ---------------------------------------------------------------- architecture

def rssm_norm_after_activation(patch):
    """Every dense layer of the RSSM as linear, activation, norm (official: linear, norm,
    activation)."""
    def dense(self, layer, x):
        linear, norm = layer
        return norm(activation(self.config.act)(linear(x)))

    patch(rssm.RSSM, "_dense", dense)


def gru_update_gate_without_bias(patch):
    """The block GRU's update gate sigmoid(u) instead of sigmoid(u - 1): the textbook GRU,
    keeping half of the state where the official keeps ~73% at initialisation."""
    def core(self, deter, stoch, action):
        groups = self.config.blocks
        stoch = stoch.reshape((*stoch.shape[:-2], -1))
        action = action / jax.lax.stop_gradient(jnp.maximum(1, jnp.abs(action)))
        inputs = [self._dense(layer, x)
                  for layer, x in zip(self.dynin, (deter, stoch, action), strict=True)]
        x = jnp.concatenate(inputs, -1)[..., None, :].repeat(groups, -2)
        x = jnp.concatenate([rssm._to_groups(deter, groups), x], -1)
        x = x.reshape((*x.shape[:-2], -1))
        for layer in self.dynhid:
            x = self._dense(layer, x)
        reset, candidate, update = [rssm._from_groups(gate) for gate in jnp.split(
            rssm._to_groups(self.dyngru(x), groups), 3, -1)]
        candidate = jnp.tanh(jax.nn.sigmoid(reset) * candidate)
        update = jax.nn.sigmoid(update)
        return update * candidate + (1 - update) * deter

    patch(rssm.RSSM, "core", core)


# ---------------------------------------------------------------- two-hot heads

def twohot_wrong_space(patch):
    _wrap(patch, distributions.TwoHot, "loss",
          lambda loss: lambda self, target: loss(self, symlog(target)))


def symexp_overflow(patch):
    patch(distributions, "symexp_bins",
          lambda count: symexp(jnp.linspace(-1000.0, 1000.0, count, dtype=jnp.float32)))


# ---------------------------------------------------------------- world model

def decoder_without_sigmoid(patch):
    patch(decoder, "image_distribution",
          lambda logits: distributions.Agg(distributions.MSE(logits), 3))


def continuation_without_horizon(patch):
    patch(world_model, "continuation_target",
          lambda is_terminal, config: (~is_terminal).astype(jnp.float32))


def truncation_as_terminal(patch):
    def from_is_last(output_losses):
        def output_losses_is_last(obs, *args, **kwargs):
            return output_losses({**obs, "is_terminal": obs["is_last"]}, *args, **kwargs)
        return output_losses_is_last

    _wrap(patch, world_model, "output_losses", from_is_last)


def actions_unshifted(patch):
    # The textbook pairing: the action stored with observation t fed in as the action before
    # step t, where the official feeds it into step t + 1.
    def unshifted(apply):
        def apply_unshifted(data, carry, prevact, obs_keys, act_keys, context):
            carry, obs, _ = apply(data, carry, prevact, obs_keys, act_keys, context)
            return carry, obs, {k: data[k][:, context:] for k in act_keys}

        return apply_unshifted

    _wrap(patch, agent_lib, "apply_replay_context", unshifted)


def replay_context_carry_one_entry_late(patch):
    """A replayed chunk started from the RSSM entry stored with its first trained step (step
    K) instead of the last context step's (K - 1): the state after step K taken as the state
    before it."""
    def late(apply):
        def apply_late(data, carry, prevact, obs_keys, act_keys, context):
            later = {k: jnp.concatenate([data[k][:, 1:], data[k][:, -1:]], 1)
                     for k in ("dyn/deter", "dyn/stoch") if k in data}
            return apply({**data, **later}, carry, prevact, obs_keys, act_keys, context)

        return apply_late

    _wrap(patch, agent_lib, "apply_replay_context", late)


def missed_reset_in_observe(patch):
    def first_step_only(loss):
        def loss_first_reset_only(model, params, carry, tokens, action, reset, *args, **kwargs):
            reset = reset & (jnp.arange(reset.shape[1]) == 0)
            return loss(model, params, carry, tokens, action, reset, *args, **kwargs)

        return loss_first_reset_only

    _wrap(patch, rssm, "loss", first_step_only)


def learned_initial_state(patch):
    """Every episode restarts from a learned deterministic state, tanh of a parameter
    `dyn/initial` (zeros at initialisation, as in DreamerV2's `initial: learned`), instead of
    zeros; the latent and the previous action are still zeroed. A parameter the official
    weights lack: only the architecture-free pass can run it."""
    def with_initial(init_params):
        def init_params_with_initial(obs_space, act_space, config, key):
            params = init_params(obs_space, act_space, config, key)
            initial = jnp.zeros((config.rssm.deter,), jnp.float32)
            return {**params, "dyn": {**params["dyn"], "initial": initial}}

        return init_params_with_initial

    def restarting(body):
        def body_from_initial(model, params, sample, carry, inputs):
            tokens, action, reset, key = inputs
            params = dict(params)
            start = jnp.tanh(params.pop("initial")).astype(carry["deter"].dtype)
            carry = {"deter": jnp.where(reset[:, None], start, carry["deter"]),
                     "stoch": apply_mask(carry["stoch"], ~reset)}
            action = {k: apply_mask(v, ~reset) for k, v in action.items()}
            return body(model, params, sample, carry,
                        (tokens, action, jnp.zeros_like(reset), key))

        return body_from_initial

    _wrap(patch, world_model, "init_params", with_initial)
    _wrap(patch, rssm, "_observe_body", restarting)


# ---------------------------------------------------------------- actor-critic

def unweighted_actor_critic(patch):
    patch(losses, "trajectory_weight", lambda con, disc: jnp.ones_like(con))


def returns_shifted(patch):
    def shifted(lambda_return):
        def lambda_return_shifted(last, term, rew, val, boot, disc, lam):
            boot = jnp.asarray(boot, jnp.float32)
            boot = jnp.concatenate([boot[:, :1], boot[:, :-1]], 1)  # current value, not next
            return lambda_return(last, term, rew, val, boot, disc, lam)
        return lambda_return_shifted

    original = returns.lambda_return
    patch(returns, "lambda_return", shifted(original))
    patch(losses, "lambda_return", shifted(original))


def advantages_centred(patch):
    _wrap(patch, losses, "advantage", lambda advantage: lambda ret, value, scale: (
        advantage(ret, value, scale) - advantage(ret, value, scale).mean()))


def return_range_max_min(patch):
    def max_min(update):
        def update_max_min(state, x, config):
            if config.impl == "perc":
                config = dataclasses.replace(config, perclo=0.0, perchi=100.0)
            return update(state, x, config)
        return update_max_min

    _wrap(patch, normalize, "update", max_min)


def _call_site(patch, name: str, make: Callable) -> None:
    """Replace the loss function `name` where the agent calls it: the name reimpl.agent
    imported, called by its call sites `imagination_terms` and `replay_terms`, which both the
    agent's loss and the architecture-free pieces run."""
    _wrap(patch, agent_lib, name, make)


def imagined_continuation_as_mode(patch):
    """The imagination call site given the continuation head's mode (0 or 1) for its
    probability: a Bernoulli taken at its most likely value (official: con.prob(1))."""
    def as_mode(imagination_terms):
        def terms(config, imgact, heads, norms):
            mode = heads["con"].pred().astype(jnp.float32)
            return imagination_terms(config, imgact, {**heads, "con": _Probability(mode)},
                                     norms)

        return terms

    _wrap(patch, agent_lib, "imagination_terms", as_mode)


@jax.tree_util.register_pytree_node_class
class _Probability:
    """A continuation output whose prob(1) is the given array."""

    def __init__(self, value):
        self.value = value

    def tree_flatten(self):
        return (self.value,), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(children[0])

    def prob(self, event):
        return jnp.where(jnp.asarray(event, bool), self.value, 1 - self.value)


def policy_scores_previous_action(patch):
    """The policy loss at imagined step t scores the action that led into the step (action
    t - 1; none at the start) under the policy at t, instead of the action taken there."""
    def previous(imagination_terms):
        def terms(config, imgact, heads, norms):
            earlier = {k: jnp.concatenate([jnp.zeros_like(v[:, :1]), v[:, :-1]], 1)
                       for k, v in imgact.items()}
            return imagination_terms(config, earlier, heads, norms)

        return terms

    _wrap(patch, agent_lib, "imagination_terms", previous)


def replay_weight_from_the_previous_step(patch):
    """The replay weight of step t from is_last[t - 1]: the step after an episode's end (its
    is_first) left out instead of the is_last step; is_last read one step late."""
    def late(replay_weight):
        def previous(last):
            last = jnp.asarray(last)
            return replay_weight(jnp.concatenate([jnp.zeros_like(last[:, :1]), last[:, :-1]],
                                                 1))

        return previous

    _wrap(patch, losses, "replay_weight", late)


def replay_sampled_as_if_full(patch):
    """replay.sample drawing sequence starts over every slot of the ring from the first step
    on, as if it were full: until it is, some sequences read slots nothing was written to."""
    def as_full(sample):
        def sampled(memory, key, batch_size, length, **kwargs):
            full = memory.replace(total=jnp.maximum(memory.total, memory.capacity))
            return sample(full, key, batch_size, length, **kwargs)

        return sampled

    _wrap(patch, replay, "sample", as_full)


def world_model_targets_one_step_early(patch):
    def early(output_losses):
        def shifted(obs, *args, **kwargs):
            later = {k: jnp.concatenate([obs[k][:, 1:], obs[k][:, -1:]], 1)
                     for k in ("reward", "is_terminal")}
            return output_losses({**obs, **later}, *args, **kwargs)

        return shifted

    _wrap(patch, world_model, "output_losses", early)


def discount_instead_of_contdisc(patch):
    _call_site(patch, "imag_loss", lambda imag_loss: lambda *args, **kwargs: imag_loss(
        *args, **{**kwargs, "contdisc": False, "horizon": 100}))


def slow_critic_targets(patch):
    def targets(loss):
        return lambda *args, **kwargs: loss(*args, **{**kwargs, "slowtar": True, "slowreg": 0.0})

    _call_site(patch, "imag_loss", targets)
    _call_site(patch, "repl_loss", targets)


def is_last_as_terminal_in_replay(patch):
    _call_site(patch, "repl_loss", lambda repl_loss: lambda last, term, *args, **kwargs:
               repl_loss(last, last, *args, **kwargs))


def replay_bootstrap_from_critic(patch):
    # The replayed lambda returns bootstrap from the critic's own prediction at each replayed
    # step instead of the return imagined from it: a critic trained on replay returns alone.
    def from_critic(repl_loss):
        def bootstrapped(last, term, rew, boot, value, *args, **kwargs):
            return repl_loss(last, term, rew, jax.lax.stop_gradient(value.pred()), value,
                             *args, **kwargs)

        return bootstrapped

    _call_site(patch, "repl_loss", from_critic)


def imagination_lambda_in_code(patch):
    """imag_loss called with lam 0.9 whatever the config says (a setting fixed in code)."""
    def fixed(imag_loss):
        def with_lambda(*args, **kwargs):
            return imag_loss(*args, **{**kwargs, "lam": 0.9})

        return with_lambda

    _call_site(patch, "imag_loss", fixed)


def replay_rewards_one_step_late(patch):
    def late(repl_loss):
        def shifted(last, term, rew, *args, **kwargs):
            rew = jnp.concatenate([jnp.zeros_like(rew[:, :1]), rew[:, :-1]], 1)
            return repl_loss(last, term, rew, *args, **kwargs)

        return shifted

    _call_site(patch, "repl_loss", late)


def actor_critic_without_stop_gradients(patch):
    patch(losses, "stop_gradient", lambda x: x)


def actor_critic_trains_world_model(patch):
    patch(agent_lib, "stop_gradient", lambda x: x)


def slow_critic_per_iteration(patch):
    # A wrong slow-critic cadence at its extreme: the count advances but nothing ever mixes
    # (the train step is update_slow's only caller, so no other cadence is left).
    patch(agent_lib, "update_slow", lambda slow, params, count, rate, every: (slow, count + 1))


def slow_critic_rate_inverted(patch):
    # The Polyak convention confused: the rate taken as the share the slow critic keeps.
    def inverted(slow, params, count, rate, every):
        mix = jnp.where(count % every == 0, rate, 0.0)
        return jax.tree.map(lambda source, kept: mix * kept + (1 - mix) * source, params,
                            slow), count + 1

    patch(agent_lib, "update_slow", inverted)


def slow_critic_cadence_ignored(patch):
    _wrap(patch, agent_lib, "update_slow", lambda update_slow: (
        lambda slow, params, count, rate, every: update_slow(slow, params, count, rate, 1)))


def loss_scales_swapped_in_code(patch):
    def swapped(total_loss):
        def with_swapped_scales(losses, scales):
            return total_loss(losses, {**scales, "dyn": scales["rep"], "rep": scales["dyn"]})

        return with_swapped_scales

    _wrap(patch, agent_lib, "total_loss", swapped)


def clip_by_global_norm(patch):
    patch(optimizer, "clip_by_agc", lambda clip=0.3, pmin=1e-3: optax.clip_by_global_norm(1000.0))


def epsilon_in_code(patch):
    _wrap(patch, optimizer, "scale_by_rms", lambda scale_by_rms: (
        lambda beta=0.999, eps=1e-20: scale_by_rms(beta, 1e-8)))


def momentum_without_bias_correction(patch):
    def undebiased(beta=0.9):
        def update_fn(updates, state, params=None):
            mu = optax.tree.update_moment(updates, state.mu, beta, 1)
            return mu, optimizer.ScaleByMomentumState(optax.safe_int32_increment(state.step),
                                                      mu)

        return optax.GradientTransformation(
            lambda params: optimizer.ScaleByMomentumState(
                jnp.zeros((), jnp.int32), jax.tree.map(jnp.zeros_like, params)), update_fn)

    patch(optimizer, "scale_by_momentum", undebiased)


def learning_rate_two_percent_high(patch):
    _wrap(patch, optimizer, "learning_rate",
          lambda learning_rate: lambda config: learning_rate(dataclasses.replace(
              config, lr=1.02 * config.lr)))


def no_warmup(patch):
    patch(optimizer, "learning_rate", lambda config: config.lr)


def world_model_updated_first(patch):
    """Sequential updates (DreamerV1/V2's order): the world model takes its step on the batch,
    then the actor-critic losses are computed on the updated world model (imagination starts
    from its posterior and rolls out its dynamics) and the actor and critic take theirs; the
    world-model losses reported are those of the first step."""
    def sequential(train_step):
        def step(agent, state, data, key, sample=True):
            first, first_metrics = train_step(agent, state, data, key, sample)
            world = {k: v for k, v in first.params.items()
                     if k.split("/", 1)[0] in world_model.MODULES}
            second, metrics = train_step(
                agent, state.replace(params={**state.params, **world}), data, key, sample)
            kept = {k: v for k, v in first_metrics.items()
                    if k.startswith("loss/") and k[len("loss/"):] not in ("policy", "value",
                                                                        "repval")}
            return second.replace(params={**second.params, **world}), {**metrics, **kept}

        return step

    _wrap(patch, agent_lib, "train_step", sequential)


# ---------------------------------------------------------------- replay and schedule

def boundary_without_is_first(patch):
    def first_step_only(annotate):
        def annotate_first_only(batch):
            batch = annotate(batch)
            first = jnp.zeros_like(batch["is_first"]).at[:, 0].set(True)
            return {**batch, "is_first": first}
        return annotate_first_only

    _wrap(patch, replay, "_annotate", first_step_only)


def ratio_without_batch_length(patch):
    patch(loop, "updates_per_iteration",
          lambda ratio, envs, steps, batch_size, batch_length: ratio * envs * steps / batch_size)


# ---------------------------------------------------------------- written unseen (2026-12-07)
# Written after the rules they are judged by, and measured once before any rule changed
# (docs/SUITE.md, "On mistakes it has never seen").

def _imag_keywords(patch, change: Callable[[dict], dict]) -> None:
    """imag_loss called with change(its keyword arguments) at the agent's call site."""
    _call_site(patch, "imag_loss", lambda imag_loss: lambda *args, **kwargs: imag_loss(
        *args, **change(kwargs)))


def entropy_scale_in_code(patch):
    """The policy's entropy bonus 1e-3 written into the loss call (the config says 3e-4)."""
    _imag_keywords(patch, lambda kwargs: {**kwargs, "actent": 1e-3})


def entropy_bonus_sign_flipped(patch):
    """The entropy term added to the policy loss with the wrong sign: entropy is penalised."""
    _imag_keywords(patch, lambda kwargs: {**kwargs, "actent": -kwargs["actent"]})


def return_normaliser_rate_in_code(patch):
    """The return normaliser's rate 0.05 written into the loss call (the config says 0.01)."""
    _imag_keywords(patch, lambda kwargs: {**kwargs, "retnorm_config": dataclasses.replace(
        kwargs["retnorm_config"], rate=0.05)})


def _imag_positional(patch, index: int, change: Callable) -> None:
    """imag_loss called with its positional argument `index` replaced by change(it)."""
    def changed(imag_loss):
        def call(*args, **kwargs):
            args = list(args)
            args[index] = change(args[index])
            return imag_loss(*args, **kwargs)

        return call

    _call_site(patch, "imag_loss", changed)


def imagined_rewards_one_step_early(patch):
    """The predicted rewards moved one step earlier along the imagined trajectory: each
    transition credited with the reward predicted one step after its own."""
    _imag_positional(patch, 1, lambda rew: jnp.concatenate([rew[:, 1:], rew[:, -1:]], 1))


def imagined_continuation_one_step_late(patch):
    """The imagined continuations moved one step later along the trajectory: each step
    discounted by the continuation predicted at the step before it."""
    _imag_positional(patch, 2, lambda con: jnp.concatenate([con[:, :1], con[:, :-1]], 1))


def no_return_normalisation(patch):
    """Advantages from raw returns: the return scale never divides them."""
    _wrap(patch, losses, "advantage", lambda advantage: lambda ret, value, scale: advantage(
        ret, value, 1.0))


def slow_regulariser_from_online_critic(patch):
    """The critic regularised toward its own (stop-gradient) prediction instead of the slow
    critic's, in imagination and replay: the slow critic is passed nowhere."""
    def online(imag_loss):
        def call(act, rew, con, policy, value, slowvalue, *args, **kwargs):
            return imag_loss(act, rew, con, policy, value, value, *args, **kwargs)

        return call

    _call_site(patch, "imag_loss", online)
    _call_site(patch, "repl_loss", lambda repl_loss: lambda last, term, rew, boot, value,
               slowvalue, *args, **kwargs: repl_loss(last, term, rew, boot, value, value,
                                                      *args, **kwargs))


def free_nats_in_code(patch):
    """The KL terms clipped at 0.5 free nats written into the KL (the config says 1)."""
    _wrap(patch, rssm, "kl_losses", lambda kl_losses: lambda post, prior, config: kl_losses(
        post, prior, dataclasses.replace(config, free_nats=0.5)))


def rep_kl_trains_the_prior(patch):
    """The representation KL without the stop-gradient on the prior: rep trains the prior too."""
    def kl_losses(posterior_logit, prior_logit, config):
        sg = jax.lax.stop_gradient
        post = distributions.OneHot(posterior_logit, config.unimix)
        prior = distributions.OneHot(prior_logit, config.unimix)
        dyn = distributions.OneHot(sg(posterior_logit), config.unimix).kl(prior).sum(-1)
        rep = post.kl(prior).sum(-1)
        return {"dyn": jnp.maximum(dyn, config.free_nats),
                "rep": jnp.maximum(rep, config.free_nats)}

    patch(rssm, "kl_losses", kl_losses)


def heads_with_relu(patch):
    """Every head's MLP (reward, continuation, policy, value) with ReLU, whatever the config's
    activation."""
    _wrap(patch, heads, "MLP", lambda mlp: lambda layers, units, act, *args, **kwargs: mlp(
        layers, units, "relu", *args, **kwargs))


# ------------------------------------------------ written unseen, second set (2026-12-07)
# Written after the rules they are judged by, by someone who had not read them, and measured
# once before any rule changed (docs/SUITE.md, "On mistakes it has never seen").

def posterior_reads_previous_token(patch):
    """The posterior rollout pairs step t with the encoder token of step t - 1 (zeros at a
    sequence's first step): the observation reaches the posterior one step late."""
    def late(observe):
        def observe_late(model, params, carry, tokens, *args, **kwargs):
            tokens = jnp.concatenate([jnp.zeros_like(tokens[:, :1]), tokens[:, :-1]], 1)
            return observe(model, params, carry, tokens, *args, **kwargs)

        return observe_late

    _wrap(patch, rssm, "observe", late)


def decoder_on_detached_features(patch):
    """The decoder reads the features through a stop-gradient (as the reward head would with
    reward_grad off): reconstruction trains the decoder but no longer the representation."""
    def detached(call):
        def call_detached(self, feat, *args, **kwargs):
            return call(self, jax.tree.map(jax.lax.stop_gradient, feat), *args, **kwargs)

        return call_detached

    _wrap(patch, decoder.Decoder, "__call__", detached)


def twohot_weights_swapped(patch):
    """Two-hot targets give each of the two neighbouring bins the weight of its own distance
    to the target instead of the other's: the nearer bin gets the smaller share (a target on
    a bin puts all its weight on the bin above)."""
    def loss(self, target):
        if target.dtype != jnp.float32:
            raise TypeError(f"TwoHot.loss needs a float32 target, got {target.dtype}")
        target = jax.lax.stop_gradient(target)
        bins, count = self.bins, self.bins.shape[-1]
        below = jnp.clip((bins <= target[..., None]).sum(-1) - 1, 0, count - 1)
        above = jnp.clip(count - (bins > target[..., None]).sum(-1), 0, count - 1)
        span = bins[above] - bins[below]
        # The share of the way from the lower bin to the target: it belongs to the upper bin.
        share = jnp.where(span > 0, (target - bins[below]) / jnp.where(span > 0, span, 1), 0.5)
        weights = (jax.nn.one_hot(below, count) * share[..., None]
                   + jax.nn.one_hot(above, count) * (1 - share)[..., None])
        return -(weights * jax.nn.log_softmax(self.logits, -1)).sum(-1)

    patch(distributions.TwoHot, "loss", loss)


def return_scale_without_floor(patch):
    """The return scale taken as the percentile range itself, without max(1, range) (a tiny
    floor only against division by zero): small returns are blown up to unit range."""
    def unfloored(stats):
        def stats_unfloored(state, config):
            if config.impl == "perc":
                config = dataclasses.replace(config, limit=1e-8)
            return stats(state, config)

        return stats_unfloored

    _wrap(patch, normalize, "stats", unfloored)


def policy_gradient_without_baseline(patch):
    """The policy gradient weighted by the scaled return alone: the critic's value is never
    subtracted (REINFORCE without a baseline)."""
    _wrap(patch, losses, "advantage", lambda advantage: lambda ret, value, scale: advantage(
        ret, jnp.zeros_like(value), scale))


def slow_critic_hard_copy_every_100(patch):
    """DreamerV2's target critic: a full copy of the critic every 100 updates (rate 1, every
    100) instead of the configured 2% mixed in at every update."""
    _wrap(patch, agent_lib, "update_slow", lambda update_slow: (
        lambda slow, params, count, rate, every: update_slow(slow, params, count, 1.0, 100)))


def continuation_discount_in_code(patch):
    """The continuation target's discount 0.99 (horizon 100, DreamerV2's discount) written
    into it; the config's horizon 333 gives 0.997."""
    _wrap(patch, world_model, "continuation_target", lambda continuation_target: (
        lambda is_terminal, config: continuation_target(
            is_terminal, dataclasses.replace(config, horizon=100))))


def agc_per_unit(patch):
    """Adaptive gradient clipping per output unit (NFNets' unit-wise rule: norms over every
    axis but the last) instead of per parameter tensor."""
    def clip_by_unit(clip=0.3, pmin=1e-3):
        def clip_one(param, update):
            axes = tuple(range(update.ndim - 1)) if update.ndim > 1 else None

            def norm(x):
                return jnp.sqrt(jnp.square(x).sum(axes, keepdims=True))

            upper = clip * jnp.maximum(pmin, norm(param))
            return update * (1 / jnp.maximum(1.0, norm(update) / upper))

        def update_fn(updates, state, params=None):
            if params is None:
                raise ValueError("clip_by_agc needs the parameters")
            return (jax.tree.map(clip_one, params, updates) if clip else updates), state

        return optax.GradientTransformation(lambda params: optimizer.ClipByAgcState(),
                                            update_fn)

    patch(optimizer, "clip_by_agc", clip_by_unit)


class _LayerNorm(nets.Norm):
    """Norm 'rms' computed as a layer norm: the mean taken out before the RMS scaling (the
    same `scale` parameter, no offset)."""

    @nn.compact
    def __call__(self, x):
        x = x.astype(self.dtype)
        if self.impl == "none":
            return x
        scale = self.param("scale", nn.initializers.ones_init(), (x.shape[-1],), jnp.float32)
        y = x.astype(jnp.float32)
        y = y - y.mean(-1, keepdims=True)
        y = y * (jax.lax.rsqrt(jnp.square(y).mean(-1, keepdims=True) + self.eps) * scale)
        return y.astype(x.dtype)


def layer_norm_instead_of_rms(patch):
    """Every norm of the networks (encoder, RSSM, decoder, head MLPs) a layer norm, centred
    before it is scaled (the first release's norm), instead of an RMS norm."""
    for owner in (nets, rssm, encoder, decoder):
        patch(owner, "Norm", _LayerNorm)


def policy_with_unimix(patch):
    """The discrete policy mixed with 1% uniform (configs.yaml's policy unimix 0.01, the
    paper's), which the official head ignores: its categorical policy has no unimix."""
    def categorical(self, x):
        logits = self._linear("logits", (*self.space.shape, self.space.classes), x)
        policy = self.parent is not None and self.parent.name == "head"  # not the decoder's
        return distributions.Categorical(logits, 0.01 if policy else 0.0)

    patch(heads.Head, "_categorical", categorical)


MUTANTS = {m.name: m for m in [
    Mutant("shared-key", "BUG", "one key for the posterior sample and the action sample",
           shared_key, ci_sample=True),
    Mutant("kl-mean", "CRITDIFF",
           "KL averaged over latents instead of summed (then clipped at free_nats)", kl_mean),
    Mutant("free-nats-per-latent", "CRITDIFF",
           "free nats clipped per latent (at free_nats / stoch) before summing",
           free_nats_per_latent),
    Mutant("kl-stop-gradients-swapped", "BUG",
           "dyn trains the posterior and rep the prior (stop-gradients on the wrong side: a "
           "gradient-flow error, named by the gradient_flow checks)",
           kl_stop_gradients_swapped, ci_sample=True),
    Mutant("rssm-norm-after-activation", "DIFF",
           "every dense layer of the RSSM normalised after its activation instead of before",
           rssm_norm_after_activation),
    Mutant("gru-update-gate-without-bias", "DIFF",
           "the block GRU's update gate without its -1 bias (sigmoid(u), the textbook GRU)",
           gru_update_gate_without_bias),
    Mutant("twohot-wrong-space", "BUG",
           "two-hot bins are symexp(linspace) (raw space) but targets are encoded in symlog "
           "space", twohot_wrong_space),
    Mutant("symexp-overflow", "BUG",
           "two-hot bins over [-1000, 1000] in symlog space: symexp overflows to inf",
           symexp_overflow),
    Mutant("unweighted-actor-critic", "CRITDIFF",
           "imagined actor and critic losses weighted 1 instead of cumprod(disc * con) / disc",
           unweighted_actor_critic, architecture_free=True, ci_sample=True),
    Mutant("no-straight-through", "CRITDIFF",
           "latent one-hots (samples and modes) carry no straight-through gradient to the "
           "logits",
           no_straight_through),
    Mutant("slow-critic-per-iteration", "CRITDIFF",
           "slow critic never mixed: its count advances but it keeps its initial copy of the "
           "value head (official: mixed after every update)",
           slow_critic_per_iteration, architecture_free=True),
    Mutant("world-model-targets-one-step-early", "BUG",
           "reward and continuation heads at step t trained on reward[t+1] and "
           "is_terminal[t+1] (the textbook alignment, unshifted at the call site)",
           world_model_targets_one_step_early, architecture_free=True),
    Mutant("actions-unshifted", "BUG",
           "the action stored with observation t fed to the world model as the action before "
           "step t (official: before step t + 1)", actions_unshifted, ci_sample=True),
    Mutant("replay-context-carry-one-entry-late", "BUG",
           "a replayed chunk starts from the RSSM state stored with its first trained step "
           "instead of the last context step's", replay_context_carry_one_entry_late,
           architecture_free=True),
    Mutant("missed-reset-in-observe", "BUG",
           "the posterior rollout resets its state at a replayed sequence's first step only, "
           "not at episode starts inside it", missed_reset_in_observe),
    Mutant("actor-critic-trains-world-model", "BUG",
           "imagined trajectories, their starts and the replay value's features without their "
           "stop-gradients: the actor-critic losses train the world model",
           actor_critic_trains_world_model),
    Mutant("discount-instead-of-contdisc", "CRITDIFF",
           "imagination discounted by 1 - 1/100 on top of the continuation (contdisc off, "
           "horizon 100: a gamma of 0.99)", discount_instead_of_contdisc,
           architecture_free=True),
    Mutant("slow-critic-targets", "CRITDIFF",
           "critic targets (imagined and replayed returns) from the slow critic, without the "
           "slow regulariser (slowtar on, slowreg 0)", slow_critic_targets,
           architecture_free=True),
    Mutant("is-last-as-terminal-in-replay", "CRITDIFF",
           "replay value loss given is_last as is_terminal: truncations end the return "
           "without bootstrap", is_last_as_terminal_in_replay,
           architecture_free=True),
    Mutant("replay-bootstrap-from-critic", "CRITDIFF",
           "replayed returns bootstrap from the critic's own value at each replayed step, "
           "not from the return imagined from it (a critic trained on replay returns alone)",
           replay_bootstrap_from_critic, architecture_free=True),
    Mutant("replay-rewards-one-step-late", "BUG",
           "replayed rewards shifted one step later at the replay loss call site (textbook "
           "reward[t] read as official reward[t+1])", replay_rewards_one_step_late,
           architecture_free=True, ci_sample=True),
    Mutant("replay-weight-from-the-previous-step", "BUG",
           "replay value loss weighted by 1 - is_last of the step before (the is_first step "
           "left out instead of the is_last one)", replay_weight_from_the_previous_step,
           architecture_free=True),
    Mutant("replay-sampled-as-if-full", "BUG",
           "replay sequences drawn over every slot of the ring before it is full (slots "
           "nothing was written to read as steps)", replay_sampled_as_if_full,
           architecture_free=True, ci_sample=True),
    Mutant("learned-initial-state", "DIFF",
           "every episode restarts from a learned deterministic state (tanh of a parameter) "
           "instead of zeros", learned_initial_state, architecture_free=True,
           own_architecture=True),
    Mutant("imagined-continuation-as-mode", "CRITDIFF",
           "imagined continuation taken as the continuation head's mode (0 or 1) at the loss "
           "call site instead of its probability", imagined_continuation_as_mode,
           architecture_free=True, ci_sample=True),
    Mutant("policy-scores-previous-action", "BUG",
           "policy gradient at imagined step t scores the action that led into the step "
           "(action t - 1) instead of the action taken at t", policy_scores_previous_action,
           architecture_free=True),
    Mutant("imagination-lambda-in-code", "CONFIG",
           "imagined lambda returns with lam 0.9 written into the loss call (the config still "
           "says 0.95)", imagination_lambda_in_code, architecture_free=True, ci_sample=True),
    Mutant("actor-critic-without-stop-gradients", "BUG",
           "every stop-gradient of the actor-critic losses removed (advantages, weights, "
           "critic targets, slow regulariser)", actor_critic_without_stop_gradients),
    Mutant("decoder-without-sigmoid", "DIFF", "decoder image mean without the sigmoid",
           decoder_without_sigmoid, architecture_free=True, ci_sample=True),
    Mutant("advantages-centred", "CRITDIFF",
           "advantages centred (mean subtracted) after return normalisation",
           advantages_centred, ci_sample=True),
    Mutant("return-range-max-min", "CRITDIFF",
           "return scale from max - min instead of the 95th - 5th percentile",
           return_range_max_min, architecture_free=True),
    Mutant("returns-shifted", "BUG",
           "lambda return bootstraps from the current step's value instead of the next one",
           returns_shifted),
    Mutant("continuation-without-horizon", "DIFF",
           "continuation target 1 - is_terminal without the (1 - 1/horizon) factor of contdisc",
           continuation_without_horizon, ci_sample=True),
    Mutant("truncation-as-terminal", "DIFF",
           "world-model continuation target from is_last: time-limit truncations treated as "
           "terminals",
           truncation_as_terminal),
    Mutant("prior-without-unimix", "CRITDIFF",
           "the prior without unimix in the dyn and rep KL losses (its samples keep it)",
           prior_without_unimix),
    Mutant("boundary-without-is-first", "BUG",
           "replayed sequences mark only their first step is_first, not episode starts inside",
           boundary_without_is_first),
    Mutant("ratio-without-batch-length", "CONFIG",
           "train ratio read as replayed sequences, not steps, per env step (batch length "
           "forgotten)", ratio_without_batch_length, ci_sample=True),
    Mutant("learning-rate-two-percent-high", "CONFIG",
           "learning rate 1.02 x the configured one: each update 2% too large (it moves no "
           "optimizer moment)", learning_rate_two_percent_high, architecture_free=True),
    Mutant("world-model-updated-first", "CRITDIFF",
           "sequential updates: the world model steps on the batch first and the actor-critic "
           "losses are taken on the updated world model (official: every loss from the "
           "parameters before the update)", world_model_updated_first, architecture_free=True),
    Mutant("no-warmup", "CONFIG", "optimizer without the learning-rate warmup", no_warmup,
           architecture_free=True),
    Mutant("clip-by-global-norm", "DIFF",
           "gradients clipped by their global norm at 1000 (the first release's rule) instead "
           "of the per-tensor adaptive clip", clip_by_global_norm, architecture_free=True),
    Mutant("epsilon-in-code", "CONFIG",
           "RMS scaling with epsilon 1e-8 written into the optimizer (the config says 1e-20)",
           epsilon_in_code, architecture_free=True),
    Mutant("momentum-without-bias-correction", "DIFF",
           "momentum used without its bias correction (the second moment keeps its own)",
           momentum_without_bias_correction, architecture_free=True, ci_sample=True),
    Mutant("loss-scales-swapped-in-code", "CONFIG",
           "the dyn and rep loss scales swapped where the total loss is assembled (the config "
           "is right)", loss_scales_swapped_in_code, architecture_free=True, ci_sample=True),
    Mutant("slow-critic-rate-inverted", "CRITDIFF",
           "slow critic mixed the wrong way round: it keeps the rate's share of itself and "
           "takes the rest from the online critic", slow_critic_rate_inverted,
           architecture_free=True, ci_sample=True),
    Mutant("slow-critic-cadence-ignored", "CONFIG",
           "slow critic mixed at every update whatever slowvalue.every says",
           slow_critic_cadence_ignored, architecture_free=True),
    Mutant("entropy-scale-in-code", "CONFIG",
           "policy entropy bonus 1e-3 written into the loss call (the config says 3e-4)",
           entropy_scale_in_code, architecture_free=True),
    Mutant("entropy-bonus-sign-flipped", "BUG",
           "entropy term added to the policy loss with the wrong sign (entropy penalised)",
           entropy_bonus_sign_flipped, architecture_free=True),
    Mutant("return-normaliser-rate-in-code", "CONFIG",
           "return normaliser rate 0.05 written into the loss call (the config says 0.01)",
           return_normaliser_rate_in_code, architecture_free=True),
    Mutant("imagined-rewards-one-step-early", "BUG",
           "imagined rewards moved one step earlier at the imagination loss call site",
           imagined_rewards_one_step_early, architecture_free=True),
    Mutant("imagined-continuation-one-step-late", "BUG",
           "imagined continuations moved one step later at the imagination loss call site",
           imagined_continuation_one_step_late, architecture_free=True),
    Mutant("no-return-normalisation", "CRITDIFF",
           "advantages from raw returns, never divided by the return scale",
           no_return_normalisation, architecture_free=True),
    Mutant("slow-regulariser-from-online-critic", "CRITDIFF",
           "critic regularised toward its own prediction instead of the slow critic's",
           slow_regulariser_from_online_critic, architecture_free=True),
    Mutant("free-nats-in-code", "CONFIG",
           "KL terms clipped at 0.5 free nats written into the KL (the config says 1)",
           free_nats_in_code),
    Mutant("rep-kl-trains-the-prior", "BUG",
           "representation KL without the stop-gradient on the prior (rep trains the prior)",
           rep_kl_trains_the_prior),
    Mutant("heads-with-relu", "DIFF",
           "every head's MLP with ReLU whatever the configured activation", heads_with_relu),
    Mutant("posterior-reads-previous-token", "BUG",
           "the posterior at step t reads the encoder token of step t - 1 (the observation "
           "one step late)", posterior_reads_previous_token),
    Mutant("decoder-on-detached-features", "BUG",
           "the decoder reads stop-gradient features: reconstruction no longer trains the "
           "representation", decoder_on_detached_features),
    Mutant("twohot-weights-swapped", "BUG",
           "two-hot targets weight each neighbouring bin by its own distance to the target "
           "instead of the other's", twohot_weights_swapped),
    Mutant("return-scale-without-floor", "CRITDIFF",
           "return scale the percentile range itself, without max(1, range): small returns "
           "amplified to unit range", return_scale_without_floor, architecture_free=True),
    Mutant("policy-gradient-without-baseline", "CRITDIFF",
           "policy gradient weighted by the scaled return with no value baseline subtracted",
           policy_gradient_without_baseline, architecture_free=True),
    Mutant("slow-critic-hard-copy-every-100", "CONFIG",
           "slow critic copied in full every 100 updates (DreamerV2's target critic) instead "
           "of 2% mixed in at every update", slow_critic_hard_copy_every_100,
           architecture_free=True),
    Mutant("continuation-discount-in-code", "CONFIG",
           "continuation target discounted by 0.99 written into it (horizon 100; the config's "
           "333 gives 0.997)", continuation_discount_in_code),
    Mutant("agc-per-unit", "DIFF",
           "adaptive gradient clipping per output unit (NFNets' unit-wise rule) instead of per "
           "parameter tensor", agc_per_unit, architecture_free=True),
    Mutant("layer-norm-instead-of-rms", "DIFF",
           "every network norm a layer norm (mean subtracted before scaling) instead of an RMS "
           "norm", layer_norm_instead_of_rms),
    Mutant("policy-with-unimix", "DIFF",
           "discrete policy mixed with 1% uniform (the configured policy unimix the official "
           "head ignores)", policy_with_unimix),
]}
