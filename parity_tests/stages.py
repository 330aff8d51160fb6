"""Where a departure enters: each actor-critic quantity recomputed by the official arithmetic
from the TARGET's own quantities before it, so a row that differs only because an earlier one
does says "follows from" that one, and a departure shows once, in the first stage it enters.

The official `imag_loss` and `repl_loss` (dreamerv3/agent.py) compute, in order:
- the decoded values `tarval` (a two-hot `pred` of the value head, or of the slow critic with
  `slowtar`), the trajectory weight
  `cumprod(disc * con) / disc` and the lambda return `ret` of rewards, continuations and tarval;
- the return normaliser: lo and hi move by `rate` toward the 5th and 95th percentile of ret
  (`Normalize(impl='perc')`, no debiasing), scale = max(limit, hi - lo);
- the advantage (ret - tarval[:, :-1]) / scale (the advantage normaliser is `none`), the value
  target ret (the value normaliser is `none`);
- the policy loss -weight * (logp(action) * adv + actent * entropy) and the value loss
  weight * (twohot_loss(value, target) + slowreg * twohot_loss(value, slowval)), slowval the
  slow critic's decoded values, over the steps before the last (the quantities the pieces
  return are those steps: weight [N, H]);
- in replay, the weight 1 - is_last, the return of replayed rewards bootstrapped from `boot`,
  and repval weight * (twohot_loss(value, ret) + slowreg * twohot_loss(value, slowval));
- of the world-model terms, rew is the two-hot loss of the reward logits at reward[t], dyn and
  rep the KL terms of the posterior and prior logits (parity_tests/test_adapter.py proves
  these the official agent's own losses).

Each function here is that arithmetic, written from those facts. The building blocks (two-hot
decode and loss, the policy's log-probability and entropy) are the TARGET's pieces where it
provides them and they are per element, else the official ones, so a quantity that differs only
through its building block follows from that block's check (`twohot/pred`, `twohot/loss`,
`policy/categorical`, `latents/kl`). parity_tests/test_actor_critic_outputs.py proves the arithmetic
faithful: on the official agent's own quantities it reproduces every official one.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from parity_tests import compare, declarations, tolerances
from reference_adapter import pieces as official_pieces


def _f32(x) -> np.ndarray:
    return np.asarray(x, np.float32)


@dataclass(frozen=True)
class Blocks:
    """The building blocks a stage computes with, and the check area each comes from (None:
    the official block)."""
    decode: object  # two-hot logits [..., bins] -> raw values [...]
    twohot_loss: object  # (logits [..., bins], raw target [...]) -> [...]
    log_prob: object  # (logits [M, A], action [M]) -> [M]
    entropy: object  # (logits [M, A]) -> [M]
    kl: object  # (post, prior logits [..., S, C], unimix, free_nats) -> {"dyn", "rep": [...]}
    source: dict  # block name -> the check area it is the target's piece for


def _official_log_prob(logits, action):
    return official_pieces.policy_dist(logits).logp(action)


def _official_entropy(logits):
    return official_pieces.policy_dist(logits).entropy()


OFFICIAL = Blocks(official_pieces.twohot_pred, official_pieces.twohot_loss_traced,
                  _official_log_prob, _official_entropy, official_pieces.kl_losses, {})


def blocks(target, reduced: set[str]) -> Blocks:
    """The target's per-element building blocks where it has them. `reduced`: pieces the
    target declares reduced (a batch mean is no building block)."""
    def own(name):
        found = getattr(target, name, None)
        return None if found is None or name in reduced else found

    chosen, source = {}, {}
    for block, piece, area in (("decode", "twohot_pred", "twohot/pred"),
                               ("twohot_loss", "twohot_loss", "twohot/loss"),
                               ("log_prob", "policy_log_prob", "policy/categorical"),
                               ("entropy", "policy_entropy", "policy/categorical"),
                               ("kl", "latent_kl_losses", "latents/kl")):
        found = own(piece)
        chosen[block] = found if found is not None else getattr(OFFICIAL, block)
        if found is not None:
            source[block] = area
    return Blocks(**chosen, source=source)


def _flat(fn, logits, *rest):
    """A [M, A]-piece applied over [N, H, A] logits."""
    lead = logits.shape[:-1]
    flat = [np.reshape(x, (-1, *np.shape(x)[len(lead):])) for x in (logits, *rest)]
    return np.reshape(np.asarray(fn(*flat)), lead)


def block_differs(name: str, chosen: Blocks, inputs: dict, config) -> bool:
    """Whether the target's block gives other values than the official one on these inputs."""
    if name not in chosen.source:
        return False
    mine, theirs = _block_value(name, chosen, inputs, config), _block_value(
        name, OFFICIAL, inputs, config)
    return not compare.compare(mine, theirs, tolerances.get("forward")).ok


def _block_value(name: str, chosen: Blocks, inputs: dict, config):
    """The block on the inputs of the stage that uses it (imagination, replay or world model:
    told apart by their keys)."""
    if name == "kl":
        rssm = config.dyn.rssm
        kl = chosen.kl(_f32(inputs["post_logits"]), _f32(inputs["prior_logits"]), rssm.unimix,
                       rssm.free_nats)
        return {k: _f32(kl[k]) for k in ("dyn", "rep")}
    if name == "twohot_loss" and "reward_logits" in inputs:
        return _f32(chosen.twohot_loss(_f32(inputs["reward_logits"]), _f32(inputs["reward"])))
    if name == "decode":
        return _f32(chosen.decode(_f32(np.concatenate([inputs["value_logits"],
                                                       inputs["slowvalue_logits"]]))))
    if name == "twohot_loss":
        return _f32(chosen.twohot_loss(_f32(inputs["value_logits"]),
                                       _decoded(inputs, chosen, slow=True)))
    logits = _f32(inputs["policy_logits"])
    if name == "log_prob":
        return _flat(chosen.log_prob, logits, np.asarray(inputs["action"]))
    return _flat(chosen.entropy, logits)


# ------------------------------------------------------------------ imagination


def _decoded(inputs: dict, chosen: Blocks, slow: bool) -> np.ndarray:
    return _f32(chosen.decode(_f32(inputs["slowvalue_logits" if slow else "value_logits"])))


def imag_ret(inputs: dict, chosen: Blocks, config) -> np.ndarray:
    tarval = _decoded(inputs, chosen, config.imag_loss.slowtar)
    con = _f32(inputs["con"])
    disc = 1.0 if config.contdisc else 1 - 1 / config.horizon
    return official_pieces.lambda_return(np.zeros_like(con), 1 - con, inputs["reward"], tarval,
                                         tarval, disc, config.imag_loss.lam)


def retnorm(ret, before: dict, config) -> dict:
    norm = config.retnorm
    ret = np.asarray(ret, np.float64)
    lo = (1 - norm.rate) * before["lo"] + norm.rate * np.percentile(ret, norm.perclo)
    hi = (1 - norm.rate) * before["hi"] + norm.rate * np.percentile(ret, norm.perchi)
    return {"lo": _f32(lo), "hi": _f32(hi)}


def adv(ret, normaliser: dict, inputs: dict, chosen: Blocks, config) -> np.ndarray:
    tarval = _decoded(inputs, chosen, config.imag_loss.slowtar).astype(np.float64)
    scale = max(config.retnorm.limit, float(normaliser["hi"]) - float(normaliser["lo"]))
    return _f32((np.asarray(ret, np.float64) - tarval[:, :-1]) / scale)


def _policy_loss(logits, weight, advantage, action, chosen: Blocks, actent: float):
    """JAX: -weight * (logp(action) * adv + actent * entropy) over the steps before the last
    of logits [N, H + 1, A]; differentiable in the logits where the blocks are JAX."""
    logits = logits[:, :-1]
    lead = logits.shape[:-1]
    flat = logits.reshape(-1, logits.shape[-1])
    logp = jnp.reshape(chosen.log_prob(flat, jnp.reshape(action[:, :-1], -1)), lead)
    entropy = jnp.reshape(chosen.entropy(flat), lead)
    return -weight * (logp * advantage + actent * entropy)


def policy(weight, advantage, inputs: dict, chosen: Blocks, config) -> np.ndarray:
    return _f32(_policy_loss(jnp.asarray(_f32(inputs["policy_logits"])), _f32(weight),
                             _f32(advantage), np.asarray(inputs["action"]), chosen,
                             config.imag_loss.actent))


def _value_loss(value_logits, weight, target, slowval, chosen: Blocks, slowreg: float):
    """JAX: weight * (twohot_loss(value, target) + slowreg * twohot_loss(value, slowval)) over
    the steps before the last of value logits [N, H + 1, bins]; weight, target [N, H]."""
    value_logits = value_logits[:, :-1]
    return weight * (chosen.twohot_loss(value_logits, target)
                     + slowreg * chosen.twohot_loss(value_logits, slowval[:, :-1]))


def value(weight, value_target, inputs: dict, chosen: Blocks, config) -> np.ndarray:
    return _f32(_value_loss(jnp.asarray(_f32(inputs["value_logits"])), _f32(weight),
                            _f32(value_target), _decoded(inputs, chosen, slow=True), chosen,
                            config.imag_loss.slowreg))


def entropy_term(weight, inputs: dict, chosen: Blocks, config) -> np.ndarray:
    """The entropy bonus part of the policy loss: -weight * actent * entropy, [N, H]."""
    entropy = _flat(chosen.entropy, _f32(inputs["policy_logits"])[:, :-1])
    return _f32(-_f32(weight) * config.imag_loss.actent * entropy)


def slowreg_term(weight, inputs: dict, chosen: Blocks, slowreg: float) -> np.ndarray:
    """The slow regulariser part of a value loss: weight * slowreg * twohot_loss(value,
    slowval), [.., K] over the steps before the last."""
    slowval = _decoded(inputs, chosen, slow=True)[:, :-1]
    loss = chosen.twohot_loss(_f32(inputs["value_logits"])[:, :-1], slowval)
    return _f32(_f32(weight) * slowreg * np.asarray(loss))


# ------------------------------------------------------------------ replay


def repl_ret(inputs: dict, chosen: Blocks, config) -> np.ndarray:
    tarval = _decoded(inputs, chosen, config.repl_loss.slowtar)
    return official_pieces.lambda_return(inputs["is_last"], inputs["is_terminal"],
                                         inputs["reward"], tarval, inputs["boot"],
                                         1 - 1 / config.horizon, config.repl_loss.lam)


def repval(weight, ret, inputs: dict, chosen: Blocks, config) -> np.ndarray:
    return _f32(_value_loss(jnp.asarray(_f32(inputs["value_logits"])), _f32(weight), _f32(ret),
                            _decoded(inputs, chosen, slow=True), chosen,
                            config.repl_loss.slowreg))


# ------------------------------------------------------------------ the chains

# quantity: (the quantities it is computed from, the blocks it uses)
IMAG_UPSTREAM = {
    "ret": ((), ("decode",)),
    "retnorm": (("ret",), ()),
    "adv": (("ret", "retnorm"), ("decode",)),
    "value_target": (("ret",), ()),
    "policy": (("weight", "adv"), ("log_prob", "entropy")),
    "value": (("weight", "value_target"), ("decode", "twohot_loss")),
    "entropy_term": (("weight",), ("entropy",)),
    "slowreg_term": (("weight",), ("decode", "twohot_loss")),
}
# What the official arithmetic derives a quantity from, for a target that does not return it
# (the value normaliser is `none`: the value target is the return).
DERIVED = {"value_target": "ret"}
REPL_UPSTREAM = {
    "ret": ((), ("decode",)),
    "repval": (("weight", "ret"), ("decode", "twohot_loss")),
    "slowreg_term": (("weight",), ("decode", "twohot_loss")),
}


def recompute(part: str, quantity: str, given: dict, inputs: dict, chosen: Blocks, config,
              before: dict | None = None):
    """`quantity` by the official arithmetic from `given` (the quantities before it: the
    target's, or for the proof of faithfulness the official ones)."""
    if part == "imag":
        if quantity == "ret":
            return imag_ret(inputs, chosen, config)
        if quantity == "retnorm":
            return retnorm(given["ret"], before, config)
        if quantity == "adv":
            return adv(given["ret"], given["retnorm"], inputs, chosen, config)
        if quantity == "value_target":
            return _f32(given["ret"])
        if quantity == "policy":
            return policy(given["weight"], given["adv"], inputs, chosen, config)
        if quantity == "value":
            return value(given["weight"], given["value_target"], inputs, chosen, config)
        if quantity == "entropy_term":
            return entropy_term(given["weight"], inputs, chosen, config)
        if quantity == "slowreg_term":
            return slowreg_term(given["weight"], inputs, chosen, config.imag_loss.slowreg)
    if part == "repl":
        if quantity == "ret":
            return repl_ret(inputs, chosen, config)
        if quantity == "repval":
            return repval(given["weight"], given["ret"], inputs, chosen, config)
        if quantity == "slowreg_term":
            return slowreg_term(given["weight"], inputs, chosen, config.repl_loss.slowreg)
    if part == "world_model" and quantity in WORLD_MODEL_UPSTREAM:
        outputs = {k: jnp.asarray(_f32(inputs[k])) for k in WORLD_MODEL_FLOWS.values()}
        return _f32(_world_model_term(quantity, outputs, inputs, chosen, config))
    raise KeyError(f"no stage for {part}/{quantity}")


# The world-model terms are each computed from the outputs alone: only their blocks come before.
WORLD_MODEL_UPSTREAM = {"rew": ((), ("twohot_loss",)), "dyn": ((), ("kl",)),
                        "rep": ((), ("kl",))}


def upstream(part: str) -> dict:
    return {"imag": IMAG_UPSTREAM, "repl": REPL_UPSTREAM,
            "world_model": WORLD_MODEL_UPSTREAM}[part]


def _world_model_term(term: str, outputs: dict, inputs: dict, chosen: Blocks, config):
    if term == "rew":
        return chosen.twohot_loss(outputs["reward_logits"], _f32(inputs["reward"]))
    rssm = config.dyn.rssm
    return chosen.kl(outputs["post_logits"], outputs["prior_logits"], rssm.unimix,
                     rssm.free_nats)[term]


WORLD_MODEL_FLOWS = {"rew": "reward_logits", "dyn": "prior_logits", "rep": "post_logits"}


# (part, loss): the output its gradient flows into, and the loss quantity it is the gradient of
GRADIENTS = {("imag", "policy"): "policy_logits", ("imag", "value"): "value_logits",
             ("repl", "repval"): "value_logits"}


def recompute_grad(part: str, loss: str, given: dict, inputs: dict, chosen: Blocks, config):
    """d sum(loss) / d output by the official arithmetic from `given` (as `recompute`), for the
    one output each loss's gradient flows into (GRADIENTS, WORLD_MODEL_FLOWS); the blocks must
    be JAX."""
    if part == "world_model":
        output = WORLD_MODEL_FLOWS[loss]
        outputs = {k: jnp.asarray(_f32(inputs[k])) for k in WORLD_MODEL_FLOWS.values()}
        return _f32(jax.grad(lambda x: _world_model_term(
            loss, {**outputs, output: x}, inputs, chosen, config).sum())(outputs[output]))
    output = GRADIENTS[(part, loss)]
    logits = jnp.asarray(_f32(inputs[output]))
    slowval = _decoded(inputs, chosen, slow=True)
    if (part, loss) == ("imag", "policy"):
        def total(x):
            return _policy_loss(x, _f32(given["weight"]), _f32(given["adv"]),
                                np.asarray(inputs["action"]), chosen,
                                config.imag_loss.actent).sum()
    else:
        target = given["value_target"] if part == "imag" else given["ret"]
        slowreg = (config.imag_loss if part == "imag" else config.repl_loss).slowreg

        def total(x):
            return _value_loss(x, _f32(given["weight"]), _f32(target), slowval, chosen,
                               slowreg).sum()
    return _f32(jax.grad(total)(logits))


def prepare(part: str, quantity: str, target, given: dict, official: dict, inputs: dict,
            config, tolerance_of: dict):
    """(what differs before `quantity`'s stage: earlier checks and the target's blocks, the
    target's earlier quantities, the blocks), or None where the target lacks one of them.
    `given`, `official`: the part's quantities of each side; `tolerance_of`: each quantity's
    tolerance name."""
    earlier, used = upstream(part).get(quantity, (None, ()))
    if earlier is None:
        return None
    given = dict(given)
    # a quantity the target does not return is derived the official way from the one before
    names = {name: name if name in given else DERIVED.get(name) for name in earlier}
    if None in names.values() or any(source not in given for source in names.values()):
        return None
    given.update({name: given[source] for name, source in names.items()})
    differing = sorted({f"outputs/{part}/{source}" for source in names.values()
                        if not compare.compare(given[source], official[source],
                                               tolerances.get(tolerance_of[source])).ok})
    reduced = {p for p in declarations.BLOCKS if declarations.reduction(target, p) != "none"}
    chosen = blocks(target, reduced)
    differing += sorted({chosen.source[b] for b in used
                         if block_differs(b, chosen, inputs, config)})
    return tuple(differing), given, chosen


def attribute(part: str, quantity: str, target, given: dict, official: dict, inputs: dict,
              config, before: dict | None, tolerance_of: dict, gradient: bool = False):
    """For a differing check of `quantity` (or with `gradient` of its loss's gradient): (what
    differs before its stage, the stage's official arithmetic on the target's own earlier
    quantities and blocks), or None where the target lacks one of them or a block is not a JAX
    function where a gradient needs one (arguments as `prepare`)."""
    prepared = prepare(part, quantity, target, given, official, inputs, config, tolerance_of)
    if prepared is None:
        return None
    differing, given, chosen = prepared
    if not gradient:
        return differing, recompute(part, quantity, given, inputs, chosen, config, before)
    try:
        return differing, recompute_grad(part, quantity, given, inputs, chosen, config)
    except (TypeError, jax.errors.JAXTypeError):  # a block that is not a JAX function
        return None
