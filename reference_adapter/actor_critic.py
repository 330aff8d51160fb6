"""The official actor-critic losses on given network outputs: no network weights involved.

`dreamerv3.agent.imag_loss` and `repl_loss` are functions of head outputs (imagined rewards,
continuation probabilities, policy and value distributions) and normaliser state. Here they run
unchanged on outputs given from outside, so an implementation with its own networks can be
compared downstream of them. The heads are the official output types built from the given
logits: `outs.Categorical(logits)` for a discrete policy (as `Head.categorical` builds it, no
unimix) and `Head.symexp_twohot`'s `TwoHot` for values; the normalisers are the agent's own
`Normalize` modules with the given state.

Intermediates the official function computes but does not return (the trajectory weight, the
normalised advantage, the value target) are read by calling it again with probe heads whose
`logp`, `entropy` or `loss` return chosen values (see `Probe`): the official code path computes
them, the probe only picks which one shows in a returned loss.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .pieces import _twohot_output


def _twohot(logits):
    return _twohot_output(logits, nested=True)

IMAG_INPUTS = ("action", "policy_logits", "reward", "con", "value_logits", "slowvalue_logits")
IMAG_DIFFERENTIABLE = ("policy_logits", "reward", "con", "value_logits", "slowvalue_logits")
REPL_INPUTS = ("is_last", "is_terminal", "reward", "boot", "value_logits", "slowvalue_logits")
REPL_DIFFERENTIABLE = ("reward", "boot", "value_logits", "slowvalue_logits")


class Probe:
    """A head for reading intermediates: `logp` and `entropy` return the given constants,
    `loss(target)` returns its target (or the constant `loss`); `pred` is the wrapped head's."""

    def __init__(self, head, logp: float = 0.0, entropy: float = 0.0, loss: float | None = None):
        self.head, self._logp, self._entropy, self._loss = head, logp, entropy, loss

    def pred(self):
        return self.head.pred()

    def logp(self, event):
        return jnp.full(event.shape[:2], self._logp, jnp.float32)

    def entropy(self):
        return jnp.full(self.head.logits.shape[:2], self._entropy, jnp.float32)

    def loss(self, target):
        return target if self._loss is None else jnp.full(target.shape, self._loss, jnp.float32)


def _imag_call(agent, inputs, policy, value, **overrides):
    model = agent.model
    kwargs = {**dict(agent.config.imag_loss), **overrides}
    return agent.official.agent.imag_loss(
        {"action": inputs["action"]}, inputs["reward"], inputs["con"], {"action": policy},
        value, _twohot(inputs["slowvalue_logits"]), model.retnorm, model.valnorm,
        model.advnorm, update=True, contdisc=agent.config.contdisc,
        horizon=agent.config.horizon, **kwargs)


def _imag_impure(agent, inputs):
    policy = agent.official.outs.Categorical(inputs["policy_logits"])
    value = _twohot(inputs["value_logits"])
    retnorm = agent.model.retnorm
    before = (retnorm.lo.read(), retnorm.hi.read())

    def probe(*args, **overrides):  # each call updates the normaliser from the same state
        retnorm.lo.write(before[0])
        retnorm.hi.write(before[1])
        return _imag_call(agent, inputs, *args, **overrides)[0]

    weight = -probe(Probe(policy, entropy=1.0), value, actent=1.0)["policy"]  # -w * (0 + 1)
    adv = probe(Probe(policy, logp=-1.0), value, actent=0.0)["policy"] / weight
    target = probe(policy, Probe(value), slowreg=0.0)["value"] / weight
    without_entropy = probe(policy, value, actent=0.0)["policy"]
    without_slowreg = probe(policy, value, slowreg=0.0)["value"]
    retnorm.lo.write(before[0])
    retnorm.hi.write(before[1])
    losses, outs, _ = _imag_call(agent, inputs, policy, value)
    normaliser = {"lo": retnorm.lo.read(), "hi": retnorm.hi.read()}
    return {"policy": losses["policy"], "value": losses["value"], "ret": outs["ret"],
            "weight": weight, "adv": adv, "value_target": target, "retnorm": normaliser,
            "entropy_term": losses["policy"] - without_entropy,
            "slowreg_term": losses["value"] - without_slowreg}


def _repl_call(agent, inputs, value, **overrides):
    kwargs = {**dict(agent.config.repl_loss), **overrides}
    return agent.official.agent.repl_loss(
        inputs["is_last"], inputs["is_terminal"], inputs["reward"], inputs["boot"], value,
        _twohot(inputs["slowvalue_logits"]), agent.model.valnorm, update=True,
        horizon=agent.config.horizon, **kwargs)


def _repl_impure(agent, inputs):
    value = _twohot(inputs["value_logits"])
    losses, outs, _ = _repl_call(agent, inputs, value)
    weight = _repl_call(agent, inputs, Probe(value, loss=1.0), slowreg=0.0)[0]["repval"]
    without_slowreg = _repl_call(agent, inputs, value, slowreg=0.0)[0]["repval"]
    return {"repval": losses["repval"], "ret": outs["ret"], "weight": weight,
            "slowreg_term": losses["repval"] - without_slowreg}


def _with_grads(agent, name, impure, inputs, differentiable, losses, variables):
    """Run `impure(agent, inputs)` on the official variables; add d sum(loss) / d input for
    every loss term and differentiable input ({"grads": {loss: {input: array}}})."""
    pure = agent.official.ninjax.pure(lambda data: impure(agent, data))

    def fn(variables, seed, data):
        _, out = pure(variables, data, seed=seed)

        def sums(diff):
            _, terms = pure(variables, {**data, **diff}, seed=seed)
            return {k: terms[k].sum() for k in losses}

        grads = jax.jacrev(sums)({k: data[k] for k in differentiable})
        return {**out, "grads": grads}

    data = {k: np.asarray(v) for k, v in inputs.items()}
    return jax.tree.map(np.asarray, agent._run(name, fn, True, data, variables=variables))


def imagination_loss(agent, inputs: dict, variables=None) -> dict:
    """Official `imag_loss` on imagined outputs, all [N, H+1] (logits [N, H+1, classes]):
    `action` int indices, `policy_logits`, `reward` (predicted), `con` (probability),
    `value_logits` and `slowvalue_logits` over the official two-hot bins. The return
    normaliser starts from `variables` (default: the agent's). Returns per-element `policy`,
    `value`, `ret`, `weight`, `adv` (normalised), `value_target`, `entropy_term` and
    `slowreg_term` (each loss with its small-coefficient term minus without it) [N, H], the
    updated `retnorm`
    {lo, hi}, and `grads` {policy|value: {input: d sum(loss) / d input}}."""
    return _with_grads(agent, "imagination_loss", _imag_impure,
                       {k: inputs[k] for k in IMAG_INPUTS}, IMAG_DIFFERENTIABLE,
                       ("policy", "value"), variables)


def replay_loss(agent, inputs: dict, variables=None) -> dict:
    """Official `repl_loss` on replayed steps, all [B, K]: `is_last`, `is_terminal`, `reward`
    (official layout), `boot` (imagined return from each step), `value_logits`,
    `slowvalue_logits`. Returns `repval`, `ret`, `weight` (1 - is_last), `slowreg_term`
    [B, K-1] and `grads`
    {repval: {input: d sum(repval) / d input}}."""
    return _with_grads(agent, "replay_loss", _repl_impure,
                       {k: inputs[k] for k in REPL_INPUTS}, REPL_DIFFERENTIABLE, ("repval",),
                       variables)
