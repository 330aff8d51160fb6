"""Oracle tests for the actor-critic pieces: each against a plain numpy statement of the
formula (the official agent is compared in parity_tests/)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reimpl.config import NormalizeConfig, OptConfig
from reimpl.normalize import init_normalize, normalize_stats, update_normalize
from reimpl.optimizer import make_optimizer
from reimpl.returns import lambda_return
from reimpl.slow_critic import update_slow


def _python_lambda_return(last, term, rew, boot, disc, lam):
    returns = np.zeros((rew.shape[0], rew.shape[1] - 1))
    following = boot[:, -1].astype(np.float64)
    for t in reversed(range(rew.shape[1] - 1)):
        live = (1 - term[:, t + 1]) * disc
        mix = (1 - last[:, t + 1]) * lam
        following = rew[:, t + 1] + live * ((1 - mix) * boot[:, t + 1] + mix * following)
        returns[:, t] = following
    return returns


@given(seed=st.integers(0, 2**32 - 1), length=st.integers(2, 12),
       lam=st.sampled_from([0.0, 0.95, 1.0]))
def test_lambda_return_scan_equals_python_loop(seed, length, lam):
    rng = np.random.default_rng(seed)
    shape = (3, length)
    last, term = (rng.random(shape) < 0.3).astype(np.float32), rng.random(shape) < 0.2
    rew, val, boot = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
    ours = np.asarray(lambda_return(last, term, rew, val, boot, 0.99, lam))
    np.testing.assert_allclose(ours, _python_lambda_return(last, term, rew, boot, 0.99, lam),
                               rtol=1e-5, atol=1e-5)


def test_slow_critic_mixes_every_third_call():
    slow, source = {"w": jnp.zeros(2)}, {"w": jnp.ones(2)}
    count = jnp.zeros((), jnp.int32)
    expected = 0.0
    for call in range(7):
        slow, count = update_slow(slow, source, count, rate=0.5, every=3)
        expected = 0.5 * 1 + 0.5 * expected if call % 3 == 0 else expected
        np.testing.assert_allclose(np.asarray(slow["w"]), expected, rtol=1e-6)
    assert int(count) == 7


def test_return_normalizer_tracks_percentile_ema():
    config = NormalizeConfig(impl="perc", rate=0.1, limit=1.0, debias=False)
    state = init_normalize()
    lo = hi = 0.0
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.normal(0, 10, 100).astype(np.float32)
        state = update_normalize(state, jnp.asarray(x), config)
        lo = 0.9 * lo + 0.1 * np.percentile(x, 5)
        hi = 0.9 * hi + 0.1 * np.percentile(x, 95)
    offset, scale = normalize_stats(state, config)
    np.testing.assert_allclose([float(offset), float(scale)], [lo, max(1.0, hi - lo)], rtol=1e-5)


def _numpy_chain(params, grads_per_step, config: OptConfig):
    """The official chain written out: AGC, RMS with bias correction, momentum with bias
    correction, learning rate warming up linearly from 0."""
    nu = {k: np.zeros_like(v) for k, v in params.items()}
    mu = {k: np.zeros_like(v) for k, v in params.items()}
    params = {k: v.astype(np.float64) for k, v in params.items()}
    for step, grads in enumerate(grads_per_step, start=1):
        lr = config.lr * min(1.0, (step - 1) / config.warmup)
        for k, g in grads.items():
            upper = config.agc * max(1e-3, np.linalg.norm(params[k]))
            g = g / max(1.0, np.linalg.norm(g) / upper)
            nu[k] = config.beta2 * nu[k] + (1 - config.beta2) * g * g
            g = g / (np.sqrt(nu[k] / (1 - config.beta2**step)) + config.eps)
            mu[k] = config.beta1 * mu[k] + (1 - config.beta1) * g
            params[k] = params[k] - lr * mu[k] / (1 - config.beta1**step)
    return params


@pytest.mark.parametrize("grad_scale", [1e-3, 100.0], ids=["unclipped", "agc-clipped"])
def test_optimizer_chain_matches_numpy_formulas(grad_scale):
    config = OptConfig(lr=1e-2, warmup=2)
    rng = np.random.default_rng(0)
    params = {"a": rng.standard_normal((3, 2)).astype(np.float32),
              "b": rng.standard_normal(4).astype(np.float32)}
    grads = [{k: (grad_scale * rng.standard_normal(v.shape)).astype(np.float32)
              for k, v in params.items()} for _ in range(4)]
    chain = make_optimizer(config)
    state = chain.init(params)
    ours = dict(params)
    for g in grads:
        updates, state = chain.update(g, state, ours)
        ours = jax.tree.map(lambda p, u: p + u, ours, updates)
    expected = _numpy_chain(params, grads, config)
    for k in params:
        np.testing.assert_allclose(np.asarray(ours[k]), expected[k], rtol=1e-5, atol=1e-7)
    assert not np.allclose(np.asarray(ours["a"]), params["a"]), "the chain did not move"
