"""The reimpl's actor-critic losses wrapped as a target with its own networks would wrap them:
from network outputs (logits, predicted rewards and continuations) and the replayed batch only,
never from official weights. Pieces `imagination_loss` and `replay_loss` (docs/TARGETS.md).

The intermediates (trajectory weight, normalised advantage, value target) are read from the
reimpl's own `imag_loss`/`repl_loss` with the same probe heads the adapter uses on the official
functions: a probe's `logp`, `entropy` or `loss` returns a chosen constant, so one returned loss
shows one intermediate.
"""

from __future__ import annotations

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
from reimpl import distributions, losses, normalize


def twohot(logits):
    """The reimpl's two-hot output over its symexp bins for logits [..., bins]."""
    logits = jnp.asarray(logits, jnp.float32)
    return distributions.TwoHot(logits, distributions.symexp_bins(logits.shape[-1]))


def _imag(config, inputs, retnorm):
    state = normalize.init()
    state = state.replace(lo=retnorm["lo"], hi=retnorm["hi"])
    policy = distributions.Categorical(inputs["policy_logits"])
    value = twohot(inputs["value_logits"])

    def call(policy, value, **overrides):
        kwargs = {**vars(config.imag_loss), **overrides}
        return losses.imag_loss(
            {"action": inputs["action"]}, inputs["reward"], inputs["con"], {"action": policy},
            value, twohot(inputs["slowvalue_logits"]), state, normalize.init(),
            normalize.init(), True, contdisc=config.contdisc, horizon=config.horizon,
            retnorm_config=config.retnorm, valnorm_config=config.valnorm,
            advnorm_config=config.advnorm, **kwargs)

    terms, norms, outs, _ = call(policy, value)
    weight = -call(Probe(policy, entropy=1.0), value, actent=1.0)[0]["policy"]
    adv = call(Probe(policy, logp=-1.0), value, actent=0.0)[0]["policy"] / weight
    target = call(policy, Probe(value), slowreg=0.0)[0]["value"] / weight
    without_entropy = call(policy, value, actent=0.0)[0]["policy"]
    without_slowreg = call(policy, value, slowreg=0.0)[0]["value"]
    return {"policy": terms["policy"], "value": terms["value"], "ret": outs["ret"],
            "weight": weight, "adv": adv, "value_target": target,
            "retnorm": {"lo": norms.retnorm.lo, "hi": norms.retnorm.hi},
            "entropy_term": terms["policy"] - without_entropy,
            "slowreg_term": terms["value"] - without_slowreg}


def _repl(config, inputs):
    value = twohot(inputs["value_logits"])

    def call(value, **overrides):
        kwargs = {**vars(config.repl_loss), **overrides}
        return losses.repl_loss(
            inputs["is_last"], inputs["is_terminal"], inputs["reward"], inputs["boot"], value,
            twohot(inputs["slowvalue_logits"]), normalize.init(), True,
            horizon=config.horizon, valnorm_config=config.valnorm, **kwargs)

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
