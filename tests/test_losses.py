"""imag_loss and repl_loss against numpy statements of the official formulas, with small
stand-in heads (a two-hot value head and a categorical policy, both from logits)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from reimpl import normalize
from reimpl.config import NormalizeConfig
from reimpl.losses import imag_loss, repl_loss

N, H1, ACTIONS = 4, 6, 3  # imagined trajectories, horizon + 1, discrete actions
BINS = jnp.linspace(-20.0, 20.0, 9)
PERC = NormalizeConfig(impl="perc", rate=0.3, limit=1.0, debias=True)
NONE = NormalizeConfig(impl="none", limit=1e-8)


class TwoHotStandIn:
    """Expected value over raw bins; cross-entropy against the two-hot of the target."""

    def __init__(self, logits: jax.Array):
        self.logits = logits  # [N, T, bins]

    def pred(self) -> jax.Array:
        return (jax.nn.softmax(self.logits) * BINS).sum(-1)

    def loss(self, target: jax.Array) -> jax.Array:
        target = jnp.clip(target, BINS[0], BINS[-1])
        below = jnp.clip(jnp.searchsorted(BINS, target, side="right") - 1, 0, len(BINS) - 2)
        above_weight = (target - BINS[below]) / (BINS[below + 1] - BINS[below])
        twohot = (jax.nn.one_hot(below, len(BINS)) * (1 - above_weight)[..., None]
                  + jax.nn.one_hot(below + 1, len(BINS)) * above_weight[..., None])
        return -(twohot * jax.nn.log_softmax(self.logits)).sum(-1)


class CategoricalStandIn:
    def __init__(self, logits: jax.Array):
        self.logits = logits  # [N, T, actions]

    def logp(self, event: jax.Array) -> jax.Array:
        return jnp.take_along_axis(jax.nn.log_softmax(self.logits), event[..., None], -1)[..., 0]

    def entropy(self) -> jax.Array:
        logp = jax.nn.log_softmax(self.logits)
        return -(jnp.exp(logp) * logp).sum(-1)


class ConstantPolicy:
    """logp 0 and entropy 1 everywhere: the policy loss is then -weight * actent."""

    def logp(self, event: jax.Array) -> jax.Array:
        return jnp.zeros(event.shape[:2])

    def entropy(self) -> jax.Array:
        return jnp.ones((N, H1))


def _inputs(seed: int):
    rng = np.random.default_rng(seed)
    logits = {
        "pol": rng.standard_normal((N, H1, ACTIONS)), "val": rng.standard_normal((N, H1, 9)),
        "slowval": rng.standard_normal((N, H1, 9)),
        "rew": rng.standard_normal((N, H1)), "con": rng.uniform(0.5, 1.0, (N, H1)),
    }
    logits = {k: jnp.asarray(v, jnp.float32) for k, v in logits.items()}
    action = jnp.asarray(rng.integers(0, ACTIONS, (N, H1)))
    states = [normalize.NormalizeState(lo=jnp.float32(lo), hi=jnp.float32(hi),
                                       corr=jnp.float32(0.5))
              for lo, hi in rng.normal(0, 2, (3, 2))]
    return logits, action, states


def _np_stats(state, config):
    if config.impl == "none":
        return 0.0, 1.0
    factor = 1 / max(config.rate, float(state[2])) if config.debias else 1.0
    low, high = float(state[0]) * factor, float(state[1]) * factor
    return low, max(config.limit, high - low)


def _np_update(state, x, config, update):
    if config.impl == "none" or not update:
        return state
    rate, (low, high, corr) = config.rate, state
    return ((1 - rate) * low + rate * np.percentile(x, config.perclo),
            (1 - rate) * high + rate * np.percentile(x, config.perchi),
            (1 - rate) * corr + rate * 1.0 if config.debias else corr)


def _np_lambda_return(term, rew, boot, disc, lam):  # no truncations in imagination
    returns, following = np.zeros((rew.shape[0], rew.shape[1] - 1)), boot[:, -1]
    for t in reversed(range(rew.shape[1] - 1)):
        live = (1 - term[:, t + 1]) * disc
        following = rew[:, t + 1] + live * ((1 - lam) * boot[:, t + 1] + lam * following)
        returns[:, t] = following
    return returns


def _np_imag_loss(value, slowvalue, policy, action, rew, con, states, configs, update, *,
                  contdisc, horizon, slowtar, lam, actent, slowreg):
    """The official imag_loss, statement by statement, in float64 numpy."""
    retnorm, valnorm, advnorm = ((float(s.lo), float(s.hi), float(s.corr)) for s in states)
    retcfg, valcfg, advcfg = configs
    as_np = lambda x: np.asarray(x, np.float64)  # noqa: E731
    rew, con = as_np(rew), as_np(con)
    voffset, vscale = _np_stats(valnorm, valcfg)
    val, slowval = (as_np(v.pred()) * vscale + voffset for v in (value, slowvalue))
    tarval = slowval if slowtar else val
    disc = 1.0 if contdisc else 1 - 1 / horizon
    weight = np.cumprod(disc * con, 1) / disc
    ret = _np_lambda_return(1 - con, rew, tarval, disc, lam)
    retnorm = _np_update(retnorm, ret, retcfg, update)
    adv = (ret - tarval[:, :-1]) / _np_stats(retnorm, retcfg)[1]
    advnorm = _np_update(advnorm, adv, advcfg, update)
    aoffset, ascale = _np_stats(advnorm, advcfg)
    logpi, entropy = as_np(policy.logp(action))[:, :-1], as_np(policy.entropy())[:, :-1]
    policy_loss = weight[:, :-1] * -(logpi * (adv - aoffset) / ascale + actent * entropy)
    valnorm = _np_update(valnorm, ret, valcfg, update)
    voffset, vscale = _np_stats(valnorm, valcfg)
    target = np.concatenate([(ret - voffset) / vscale, np.zeros((ret.shape[0], 1))], 1)
    value_loss = as_np(value.loss(jnp.asarray(target, jnp.float32))) + slowreg * as_np(
        value.loss(slowvalue.pred()))
    losses = {"policy": policy_loss, "value": weight[:, :-1] * value_loss[:, :-1]}
    return losses, ret, (retnorm, valnorm, advnorm)


def _heads(logits):
    return (TwoHotStandIn(logits["val"]), TwoHotStandIn(logits["slowval"]),
            CategoricalStandIn(logits["pol"]))


@pytest.mark.parametrize("contdisc", [True, False], ids=["contdisc", "horizon-disc"])
@pytest.mark.parametrize("slowtar", [False, True], ids=["valtar", "slowtar"])
@pytest.mark.parametrize("valnorm", [NONE, PERC], ids=["valnorm-none", "valnorm-perc"])
@pytest.mark.parametrize("update", [True, False], ids=["update", "frozen"])
def test_imag_loss_matches_numpy_statement(contdisc, slowtar, valnorm, update):
    logits, action, states = _inputs(seed=1)
    value, slowvalue, policy = _heads(logits)
    configs = (PERC, valnorm, PERC)
    hyper = dict(contdisc=contdisc, horizon=20, slowtar=slowtar, lam=0.9, actent=0.1,
                 slowreg=0.5)
    losses, new_states, outs, metrics = imag_loss(
        {"action": action}, logits["rew"], logits["con"], {"action": policy}, value, slowvalue,
        *states, update, retnorm_config=PERC, valnorm_config=valnorm, advnorm_config=PERC,
        **hyper)
    expected, ret, expected_states = _np_imag_loss(
        value, slowvalue, policy, action, logits["rew"], logits["con"], states, configs, update,
        **hyper)
    assert set(losses) == {"policy", "value"}
    for key in losses:
        assert losses[key].shape == (N, H1 - 1)
        np.testing.assert_allclose(np.asarray(losses[key]), expected[key], rtol=1e-4,
                                   atol=1e-5, err_msg=key)
    np.testing.assert_allclose(np.asarray(outs["ret"]), ret, rtol=1e-5, atol=1e-5)
    for name, ours, theirs in zip(("retnorm", "valnorm", "advnorm"),
                                  (new_states.retnorm, new_states.valnorm, new_states.advnorm),
                                  expected_states, strict=True):
        np.testing.assert_allclose([float(ours.lo), float(ours.hi), float(ours.corr)], theirs,
                                   rtol=1e-4, atol=1e-6, err_msg=name)
    assert np.isfinite(float(metrics["ret"])) and "ent/action" in metrics


@pytest.mark.parametrize("contdisc", [True, False], ids=["contdisc", "horizon-disc"])
def test_imag_loss_weight_is_cumprod_of_discounted_continuation(contdisc):
    logits, action, states = _inputs(seed=2)
    value, slowvalue, _ = _heads(logits)
    losses, *_ = imag_loss(
        {"action": action}, logits["rew"], logits["con"], {"action": ConstantPolicy()}, value,
        slowvalue, *states, True, contdisc=contdisc, horizon=10, actent=1.0)
    con = np.asarray(logits["con"], np.float64)
    disc = 1.0 if contdisc else 0.9
    # weight[t] = con[0] * prod_{s=1..t} (disc * con[s]): the first step is never discounted.
    expected = np.stack([con[:, 0] * np.prod(disc * con[:, 1:t + 1], 1) for t in range(H1)], 1)
    np.testing.assert_allclose(-np.asarray(losses["policy"]), expected[:, :-1], rtol=1e-5)


def test_advantage_ignores_the_return_offset():
    """Shifting retnorm's lo and hi together changes the offset, not the scale: the policy
    loss must not move (the official advantage is (ret - val) / scale, no offset)."""
    logits, action, states = _inputs(seed=3)
    value, slowvalue, policy = _heads(logits)
    config = NormalizeConfig(impl="perc", rate=0.01, limit=1e-8, debias=False)

    def policy_loss(shift):
        retnorm = states[0].replace(lo=states[0].lo + shift, hi=states[0].lo + shift + 3.0)
        losses, *_ = imag_loss({"action": action}, logits["rew"], logits["con"],
                               {"action": policy}, value, slowvalue, retnorm, *states[1:], False,
                               contdisc=True, horizon=333, retnorm_config=config)
        return np.asarray(losses["policy"])

    np.testing.assert_allclose(policy_loss(50.0), policy_loss(0.0), rtol=1e-6, atol=1e-7)
    assert np.abs(policy_loss(0.0)).max() > 1e-3


def test_imag_loss_gradients_reach_only_the_trained_heads():
    logits, action, states = _inputs(seed=4)

    def term(name, logits):
        value, slowvalue, policy = _heads(logits)
        losses, *_ = imag_loss({"action": action}, logits["rew"], logits["con"],
                               {"action": policy}, value, slowvalue, *states, True,
                               contdisc=True, horizon=333)
        return losses[name].mean()

    norms = {name: {k: float(jnp.abs(g).max()) for k, g in jax.grad(
        lambda x, name=name: term(name, x))(logits).items()} for name in ("policy", "value")}
    assert norms["policy"]["pol"] > 0 and norms["value"]["val"] > 0
    assert {k for k, v in norms["policy"].items() if v} == {"pol"}
    assert {k for k, v in norms["value"].items() if v} == {"val"}


def test_repl_loss_matches_numpy_statement():
    rng = np.random.default_rng(5)
    logits, _, states = _inputs(seed=5)
    value, slowvalue, _ = _heads(logits)
    last = rng.random((N, H1)) < 0.3
    term = last & (rng.random((N, H1)) < 0.5)
    rew = rng.standard_normal((N, H1)).astype(np.float32)
    boot = (3 * rng.standard_normal((N, H1))).astype(np.float32)
    losses, valnorm, outs, _ = repl_loss(
        last, term, rew, boot, value, slowvalue, states[1], True, horizon=10, lam=0.8,
        slowreg=0.5, valnorm_config=PERC)
    disc = 0.9
    ret = np.zeros((N, H1 - 1))
    following = boot[:, -1].astype(np.float64)
    for t in reversed(range(H1 - 1)):
        mix = 0.8 * (1 - last[:, t + 1])
        following = rew[:, t + 1] + disc * (1 - term[:, t + 1]) * (
            (1 - mix) * boot[:, t + 1] + mix * following)
        ret[:, t] = following
    state = _np_update((float(states[1].lo), float(states[1].hi), float(states[1].corr)),
                       ret, PERC, True)
    offset, scale = _np_stats(state, PERC)
    target = np.concatenate([(ret - offset) / scale, np.zeros((N, 1))], 1)
    per_step = np.asarray(value.loss(jnp.asarray(target, jnp.float32))) + 0.5 * np.asarray(
        value.loss(slowvalue.pred()))
    expected = (1 - last[:, :-1]) * per_step[:, :-1]
    np.testing.assert_allclose(np.asarray(outs["ret"]), ret, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(losses["repval"]), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose([float(valnorm.lo), float(valnorm.hi)], state[:2], rtol=1e-5)
    assert (np.asarray(losses["repval"])[last[:, :-1]] == 0).all()


def test_imag_loss_rejects_misaligned_actions():
    logits, action, states = _inputs(seed=6)
    value, slowvalue, policy = _heads(logits)
    with pytest.raises(ValueError, match="act/action"):
        imag_loss({"action": action[:, 1:]}, logits["rew"], logits["con"], {"action": policy},
                  value, slowvalue, *states, True, contdisc=True, horizon=333)
