"""The reimpl's actor-critic losses wrapped as a target with its own networks would wrap them:
from network outputs (logits, predicted rewards and continuations) and the replayed batch only,
never from official weights. Pieces `imagination_loss` and `replay_loss` (docs/TARGETS.md).

Both run the reimpl agent's own call sites (`agent.imagination_terms`, `agent.replay_terms`:
what the agent passes from its heads into `imag_loss`/`repl_loss`), fed with given outputs
instead of its networks. The intermediates (trajectory weight, normalised advantage, value
target) are read with the same probe heads the adapter uses on the official
functions: a probe's `logp`, `entropy` or `loss` returns a chosen constant, so one returned loss
shows one intermediate.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from parity_tests.targets import reimpl_config
from reference_adapter.actor_critic import (
    IMAG_DIFFERENTIABLE,
    REPL_DIFFERENTIABLE,
    Probe,
)
from reimpl import agent, distributions, losses, normalize


def twohot(logits):
    """The reimpl's two-hot output over its symexp bins for logits [..., bins]."""
    logits = jnp.asarray(logits, jnp.float32)
    return distributions.TwoHot(logits, distributions.symexp_bins(logits.shape[-1]))


@jax.tree_util.register_pytree_node_class
class Given:
    """A head output given as its values (predicted reward, continuation probability), with the
    methods the reimpl's heads have: pred() (for a continuation its Bernoulli mode) and prob."""

    def __init__(self, value, binary=False):
        self.value, self.binary = value, binary

    def tree_flatten(self):
        return (self.value,), self.binary

    @classmethod
    def tree_unflatten(cls, binary, children):
        return cls(children[0], binary)

    def pred(self):
        return self.value > 0.5 if self.binary else self.value

    def prob(self, event):
        return jnp.where(jnp.asarray(event, bool), self.value, 1 - self.value)


def _imag(config, inputs, retnorm):
    state = normalize.init()
    norms = losses.Normalizers(state.replace(lo=retnorm["lo"], hi=retnorm["hi"]),
                               normalize.init(), normalize.init())
    policy = distributions.Categorical(inputs["policy_logits"])
    value = twohot(inputs["value_logits"])

    def call(policy, value, **overrides):
        imag = dataclasses.replace(config.imag_loss, **overrides)
        heads = {"rew": Given(inputs["reward"]), "con": Given(inputs["con"], binary=True),
                 "pol": {"action": policy}, "val": value,
                 "slowval": twohot(inputs["slowvalue_logits"])}
        return agent.imagination_terms(dataclasses.replace(config, imag_loss=imag),
                                       {"action": inputs["action"]}, heads, norms)

    terms, norms_out, outs, _ = call(policy, value)
    weight = -call(Probe(policy, entropy=1.0), value, actent=1.0)[0]["policy"]
    adv = call(Probe(policy, logp=-1.0), value, actent=0.0)[0]["policy"] / weight
    target = call(policy, Probe(value), slowreg=0.0)[0]["value"] / weight
    without_entropy = call(policy, value, actent=0.0)[0]["policy"]
    without_slowreg = call(policy, value, slowreg=0.0)[0]["value"]
    return {"policy": terms["policy"], "value": terms["value"], "ret": outs["ret"],
            "weight": weight, "adv": adv, "value_target": target,
            "retnorm": {"lo": norms_out.retnorm.lo, "hi": norms_out.retnorm.hi},
            "entropy_term": terms["policy"] - without_entropy,
            "slowreg_term": terms["value"] - without_slowreg}


def _repl(config, inputs):
    value = twohot(inputs["value_logits"])

    def call(value, **overrides):
        repl = dataclasses.replace(config.repl_loss, **overrides)
        replayed = [inputs[k] for k in ("is_last", "is_terminal", "reward")]
        heads = {"val": value, "slowval": twohot(inputs["slowvalue_logits"])}
        boot = agent.replay_bootstrap(inputs["imagined_ret"])  # the agent's own choice
        return agent.replay_terms(dataclasses.replace(config, repl_loss=repl), replayed,
                                  boot, heads, normalize.init())

    terms, _, outs, _ = call(value)
    weight = call(Probe(value, loss=1.0), slowreg=0.0)[0]["repval"]
    without_slowreg = call(value, slowreg=0.0)[0]["repval"]
    return {"repval": terms["repval"], "ret": outs["ret"], "weight": weight,
            "slowreg_term": terms["repval"] - without_slowreg}


def _with_grads(fn, differentiable, terms):
    def run(inputs, *args):
        out = fn(inputs, *args)

        def sums(diff):
            return {k: fn({**inputs, **diff}, *args)[k].sum() for k in terms}

        return {**out, "grads": jax.jacrev(sums)({k: inputs[k] for k in differentiable})}

    return jax.jit(run)


@functools.cache
def _programs(preset_name: str):
    config = reimpl_config.config(preset_name)
    imag = _with_grads(lambda inputs, retnorm: _imag(config, inputs, retnorm),
                       IMAG_DIFFERENTIABLE, ("policy", "value"))
    repl = _with_grads(lambda inputs: _repl(config, inputs), REPL_DIFFERENTIABLE, ("repval",))
    return imag, repl


def imagination_loss(preset_name: str, inputs: dict, retnorm: dict) -> dict:
    """Network outputs of imagination -> losses, intermediates and d sum(loss) / d output."""
    data = {k: jnp.asarray(v) for k, v in inputs.items()}
    out = _programs(preset_name)[0](data, {k: jnp.float32(v) for k, v in retnorm.items()})
    return jax.tree.map(np.asarray, out)


def replay_loss(preset_name: str, inputs: dict) -> dict:
    """Replayed flags and rewards, imagination bootstrap and value outputs -> repval."""
    data = {k: jnp.asarray(v) for k, v in inputs.items()}
    return jax.tree.map(np.asarray, _programs(preset_name)[1](data))
