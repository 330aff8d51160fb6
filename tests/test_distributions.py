"""Numerics of the output distributions (reimpl/distributions.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from reimpl import distributions as dists
from reimpl.nets import symexp


@pytest.mark.parametrize("count", [5, 255, 4, 256], ids=lambda n: f"bins{n}")
def test_twohot_bins_are_symmetric_raw_symexp(count):
    bins = np.asarray(dists.symexp_bins(count))
    assert bins.shape == (count,)
    np.testing.assert_array_equal(bins, -bins[::-1])
    assert bins[-1] == np.float32(symexp(jnp.float32(20.0)))
    middle = count // 2
    if count % 2:
        assert bins[middle] == 0.0
        assert np.all(np.diff(bins) > 0)
    else:
        # Official quirk (heads.py Head.symexp_twohot): an even count mirrors a half that ends
        # in 0, so the two middle bins are both zero.
        assert bins[middle - 1] == 0.0 and bins[middle] == 0.0
        assert np.all(np.diff(np.delete(bins, middle)) > 0)


@pytest.mark.parametrize("count", [5, 255, 4, 256], ids=lambda n: f"bins{n}")
def test_twohot_pred_is_exactly_zero_for_uniform_logits(count):
    # Op by op only: under jit XLA may reassociate the sum, as it does for the official code.
    logits = jnp.zeros((3, count))
    pred = dists.TwoHot(logits, dists.symexp_bins(count)).pred()
    np.testing.assert_array_equal(np.asarray(pred), 0.0)


def test_twohot_pred_is_the_raw_expectation():
    bins = dists.symexp_bins(5)
    logits = jnp.array([0.3, -1.0, 2.0, 0.5, -0.2])
    expected = float((jax.nn.softmax(logits) * bins).sum())
    assert float(dists.TwoHot(logits, bins).pred()) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("target", [1e6, -1e6, 1e10, -1e10, 0.0, 3.7], ids=str)
def test_twohot_loss_finite(target):
    bins = dists.symexp_bins(255)
    logits = jax.random.normal(jax.random.key(0), (255,))
    loss = dists.TwoHot(logits, bins).loss(jnp.float32(target))
    assert np.isfinite(float(loss))


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["above", "below"])
def test_twohot_target_beyond_the_last_bin_is_all_on_that_bin(sign):
    bins = dists.symexp_bins(255)
    logits = jax.random.normal(jax.random.key(1), (255,))
    loss = dists.TwoHot(logits, bins).loss(jnp.float32(sign * 1e10))
    edge = -1 if sign > 0 else 0
    assert float(loss) == pytest.approx(float(-jax.nn.log_softmax(logits)[edge]), rel=1e-6)


def test_twohot_interpolates_in_raw_space():
    bins = dists.symexp_bins(5)  # [-e^20+1, -e^10+1, 0, e^10-1, e^20-1]
    logits = jnp.array([0.1, 0.7, -0.3, 1.1, 0.4])
    target = bins[3] + 0.25 * (bins[4] - bins[3])
    logp = jax.nn.log_softmax(logits)
    expected = -(0.75 * logp[3] + 0.25 * logp[4])
    loss = dists.TwoHot(logits, bins).loss(target)
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)


def test_categorical_unimix_mixes_probabilities():
    logits = jnp.array([[10.0, -10.0, 0.0, 3.0]])
    dist = dists.Categorical(logits, unimix=0.01)
    probs = jax.nn.softmax(logits)
    expected = 0.99 * probs + 0.01 / 4
    np.testing.assert_allclose(np.exp(dist.logits), expected, rtol=1e-6)
    assert float(jnp.exp(dist.logits).min()) >= 0.01 / 4 * 0.999


@pytest.mark.parametrize("unimix", [0.0, 0.01], ids=["plain", "unimix"])
@pytest.mark.parametrize("draw", ["pred", "sample"])
def test_onehot_straight_through_gradient_is_the_softmax_jacobian(unimix, draw):
    logits = jnp.array([0.5, -1.0, 2.0, 0.1])

    def value(x):
        dist = dists.OneHot(x, unimix)
        return dist.pred() if draw == "pred" else dist.sample(jax.random.key(5))

    onehot = np.asarray(value(logits))
    assert set(np.unique(onehot)) == {0.0, 1.0} and onehot.sum() == 1.0
    if draw == "pred":
        assert onehot.argmax() == int(jnp.argmax(logits))
    softmax = np.asarray(jax.nn.softmax(logits))
    # d probs / d logits for probs = (1 - u) softmax + u / K.
    expected = (1 - unimix) * (np.diag(softmax) - np.outer(softmax, softmax))
    jacobian = np.asarray(jax.jacobian(value)(logits))
    np.testing.assert_allclose(jacobian, expected, atol=1e-6)
    assert np.abs(jacobian).max() > 0.01


def test_agg_sums_kl_entropy_and_logp_over_the_event_axis():
    keys = jax.random.split(jax.random.key(2), 2)
    left, right = (jax.random.normal(k, (3, 2, 4)) for k in keys)  # [B, stoch, classes]
    a, b = dists.OneHot(left, 0.01), dists.OneHot(right, 0.01)
    agg_a, agg_b = dists.Agg(a, 1), dists.Agg(b, 1)
    np.testing.assert_allclose(agg_a.kl(agg_b), a.kl(b).sum(-1), rtol=1e-6)
    np.testing.assert_allclose(agg_a.entropy(), a.entropy().sum(-1), rtol=1e-6)
    event = a.pred()
    np.testing.assert_allclose(agg_a.logp(event), a.logp(event).sum(-1), rtol=1e-6)
    assert agg_a.kl(agg_b).shape == (3,)


def test_distributions_are_pytrees_that_survive_jit():
    logits = jnp.array([[0.2, 0.0, -0.5, 1.0]])
    dist = jax.jit(lambda x: dists.Agg(dists.OneHot(x, 0.01), 1))(logits)
    direct = dists.Agg(dists.OneHot(logits, 0.01), 1)
    # Rebuilding must not apply unimix a second time.
    np.testing.assert_allclose(dist.output.dist.logits, direct.output.dist.logits, rtol=1e-6)
    assert dist.dims == 1


def test_binary_logp_and_mse_symlog():
    logit = jnp.array([-2.0, 0.0, 3.0])
    binary = dists.Binary(logit)
    np.testing.assert_allclose(binary.prob(1.0), jax.nn.sigmoid(logit), rtol=1e-6)
    np.testing.assert_allclose(binary.loss(jnp.zeros(3)), -jax.nn.log_sigmoid(-logit), rtol=1e-6)
    mse = dists.MSE(jnp.array([1.0, -2.0]), squash=lambda x: jnp.sign(x) * jnp.log1p(jnp.abs(x)))
    target = jnp.array([np.e - 1, -(np.e**2 - 1)])
    np.testing.assert_allclose(mse.loss(target), [0.0, 0.0], atol=1e-6)


def test_bounded_normal_range():
    raw = jnp.array([-50.0, 0.0, 50.0])
    normal = dists.bounded_normal(raw, raw, minstd=0.1, maxstd=1.0)
    np.testing.assert_allclose(normal.mean, jnp.tanh(raw), rtol=1e-6)
    expected = 0.9 * jax.nn.sigmoid(raw + 2.0) + 0.1
    np.testing.assert_allclose(normal.stddev, expected, rtol=1e-6)
    assert float(normal.stddev.min()) >= 0.1 and float(normal.stddev.max()) <= 1.0
