"""The return normaliser against a numpy statement of official Normalize's moving averages."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reimpl import normalize
from reimpl.config import NormalizeConfig


def _numpy_normalizer(batches, config: NormalizeConfig):
    """Official Normalize.update then .stats, in float64."""
    low = high = corr = 0.0
    for x in batches:
        if config.impl == "perc":
            new_low, new_high = np.percentile(x, config.perclo), np.percentile(x, config.perchi)
        else:
            new_low, new_high = x.mean(), np.square(x).mean()
        low = (1 - config.rate) * low + config.rate * new_low
        high = (1 - config.rate) * high + config.rate * new_high
        corr = (1 - config.rate) * corr + config.rate * 1.0
    factor = 1 / max(config.rate, corr) if config.debias else 1.0
    if config.impl == "perc":
        return low * factor, max(config.limit, (high - low) * factor)
    mean = low * factor
    return mean, max(config.limit, np.sqrt(max(0.0, high * factor - mean**2)))


@pytest.mark.parametrize("impl", ["perc", "meanstd"])
@pytest.mark.parametrize("debias", [False, True], ids=["plain", "debiased"])
@settings(max_examples=15)
@given(seed=st.integers(0, 2**32 - 1), updates=st.integers(1, 6),
       rate=st.sampled_from([0.01, 0.3]), spread=st.sampled_from([0.1, 10.0, 1e4]))
def test_normalizer_matches_numpy_moving_averages(impl, debias, seed, updates, rate, spread):
    config = NormalizeConfig(impl=impl, rate=rate, limit=1.0, debias=debias)
    rng = np.random.default_rng(seed)
    batches = [(spread * rng.standard_normal((4, 7)) + spread).astype(np.float32)
               for _ in range(updates)]
    state = normalize.init()
    for x in batches:
        state = normalize.update(state, jnp.asarray(x), config)
    offset, scale = normalize.stats(state, config)
    expected_offset, expected_scale = _numpy_normalizer(batches, config)
    np.testing.assert_allclose(float(offset), expected_offset, rtol=1e-4, atol=1e-6 * spread)
    np.testing.assert_allclose(float(scale), expected_scale, rtol=1e-4, atol=1e-6 * spread)
    assert (float(state.corr) > 0) == debias, "corr moves only when debiasing"


def test_percentiles_are_over_all_elements():
    """One batch, rate 1: lo/hi are exactly the 5th/95th percentiles of the flattened array."""
    config = NormalizeConfig(impl="perc", rate=1.0, limit=0.0)
    x = np.arange(200, dtype=np.float32).reshape(4, 50)[::-1]
    state = normalize.update(normalize.init(), jnp.asarray(x), config)
    np.testing.assert_allclose([float(state.lo), float(state.hi)], [9.95, 189.05], rtol=1e-6)


def test_scale_is_floored_at_limit():
    config = NormalizeConfig(impl="perc", rate=0.5, limit=3.0)
    state = normalize.update(normalize.init(), jnp.full((5,), 7.0), config)
    offset, scale = normalize.stats(state, config)
    assert float(offset) == pytest.approx(3.5)
    assert float(scale) == 3.0


def test_none_is_identity_and_keeps_state():
    config = NormalizeConfig(impl="none")
    state = normalize.init().replace(lo=jnp.float32(2.0))
    assert normalize.update(state, jnp.ones(3), config) is state
    assert normalize.stats(state, config) == (0.0, 1.0)


def test_normalize_updates_only_when_training():
    config = NormalizeConfig(impl="perc", rate=0.5)
    x = jnp.linspace(-4.0, 4.0, 11)
    state, _ = normalize.normalize(normalize.init(), x, config, training=False)
    assert float(state.lo) == 0.0 and float(state.hi) == 0.0
    state, (offset, scale) = normalize.normalize(normalize.init(), x, config, training=True)
    assert float(state.lo) < 0 < float(state.hi)
    assert (offset, scale) == normalize.stats(state, config)


def test_perc_stats_stop_gradients():
    config = NormalizeConfig(impl="perc", rate=0.5, limit=0.0)

    def total(low):
        offset, scale = normalize.stats(normalize.init().replace(lo=low, hi=low + 2.0), config)
        return offset + scale

    assert float(total(jnp.float32(1.0))) == pytest.approx(3.0)
    assert float(jax.grad(total)(jnp.float32(1.0))) == 0.0


def test_unknown_impl_is_rejected():
    with pytest.raises(ValueError, match="unknown normaliser impl 'median'"):
        normalize.stats(normalize.init(), NormalizeConfig(impl="median"))
