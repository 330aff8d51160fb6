"""The reimpl's actor-critic losses wrapped as a target with its own networks would wrap them:
from network outputs (logits, predicted rewards and continuations) and the replayed batch only,
never from official weights. Pieces `imagination_loss` and `replay_loss` (docs/TARGETS.md).

Both run the reimpl agent's own call sites (`agent.imagination_terms`, `agent.replay_terms`:
what the agent passes from its heads into `imag_loss`/`repl_loss`), fed with given outputs
instead of its networks. The intermediates (trajectory weight, normalised advantage, value
target, the entropy and slow-regulariser terms) are read where the losses compute them (their
`outs`), from the one call the agent makes: reading them from further calls with settings
changed (an entropy scale of 1, a regulariser of 0) would be defeated by a setting fixed in
code below the wrapper. (The adapter reads the official intermediates with probe heads:
sound there, where nothing is fixed below the call.)
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
    heads = {"rew": Given(inputs["reward"]), "con": Given(inputs["con"], binary=True),
             "pol": {"action": distributions.Categorical(inputs["policy_logits"])},
             "val": twohot(inputs["value_logits"]),
             "slowval": twohot(inputs["slowvalue_logits"])}
    terms, norms_out, outs, _ = agent.imagination_terms(config, {"action": inputs["action"]},
                                                        heads, norms)
    return {"policy": terms["policy"], "value": terms["value"],
            "retnorm": {"lo": norms_out.retnorm.lo, "hi": norms_out.retnorm.hi},
            **{k: outs[k] for k in ("ret", "weight", "adv", "value_target", "entropy_term",
                                    "slowreg_term")}}


def _repl(config, inputs):
    replayed = [inputs[k] for k in ("is_last", "is_terminal", "reward")]
    heads = {"val": twohot(inputs["value_logits"]),
             "slowval": twohot(inputs["slowvalue_logits"])}
    boot = agent.replay_bootstrap(inputs["imagined_ret"])  # the agent's own choice
    terms, _, outs, _ = agent.replay_terms(config, replayed, boot, heads, normalize.init())
    return {"repval": terms["repval"], **{k: outs[k] for k in ("ret", "weight", "slowreg_term")}}


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
