"""Slow critic cadence against the official SlowModel.update rule written out by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from reimpl.slow_critic import update_slow


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_slow_critic_mixes_on_calls_0_3_6_with_every_3(jit):
    update = jax.jit(update_slow, static_argnums=(3, 4)) if jit else update_slow
    slow = {"val/out/kernel": jnp.zeros(2), "val/out/bias": jnp.full((1,), 4.0)}
    count = jnp.zeros((), jnp.int32)
    kernel, bias, mixed_on = 0.0, 4.0, []
    for call in range(8):
        source = {"val/out/kernel": jnp.full(2, float(call + 1)), "val/out/bias": jnp.ones(1)}
        before = np.asarray(slow["val/out/kernel"]).copy()
        slow, count = update(slow, source, count, 0.25, 3)
        if call % 3 == 0:
            kernel, bias = 0.25 * (call + 1) + 0.75 * kernel, 0.25 + 0.75 * bias
        if not np.array_equal(before, np.asarray(slow["val/out/kernel"])):
            mixed_on.append(call)
        np.testing.assert_allclose(np.asarray(slow["val/out/kernel"]), kernel, rtol=1e-6)
        np.testing.assert_allclose(np.asarray(slow["val/out/bias"]), bias, rtol=1e-6)
        assert int(count) == call + 1
    assert mixed_on == [0, 3, 6]


def test_rate_one_copies_every_call():
    slow, count = update_slow({"w": jnp.zeros(3)}, {"w": jnp.arange(3.0)}, jnp.int32(5), 1.0, 1)
    np.testing.assert_array_equal(np.asarray(slow["w"]), [0.0, 1.0, 2.0])
    assert int(count) == 6


def test_rate_between_half_and_one_is_rejected():
    with pytest.raises(ValueError, match="got 0.7"):
        update_slow({"w": jnp.zeros(1)}, {"w": jnp.ones(1)}, jnp.int32(0), 0.7, 1)
