"""The optimizer chain against a hand-written numpy statement of the official formulas, and
its state against the official variable names."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from reimpl.config import OptConfig
from reimpl.optimizer import from_official_flat, make_optimizer, to_official_flat

STEPS = 5


def _numpy_chain(params, grads_per_step, config: OptConfig):
    """AGC per tensor, RMS with bias correction, momentum with bias correction, learning rate
    0 -> lr over `warmup` updates (the update with count c uses lr * min(1, c / warmup)).
    Returns the parameters after each step and, per step, whether AGC clipped anything."""
    nu = {k: np.zeros(v.shape) for k, v in params.items()}
    mu = {k: np.zeros(v.shape) for k, v in params.items()}
    params = {k: v.astype(np.float64) for k, v in params.items()}
    history, clipped = [], []
    for step, grads in enumerate(grads_per_step, start=1):
        rate = config.lr * min(1.0, (step - 1) / config.warmup)
        clipped.append(False)
        for k, g in grads.items():
            g = g.astype(np.float64)
            upper = config.agc * max(1e-3, np.linalg.norm(params[k]))
            clipped[-1] |= bool(np.linalg.norm(g) > upper)
            g = g / max(1.0, np.linalg.norm(g) / upper)
            nu[k] = config.beta2 * nu[k] + (1 - config.beta2) * g * g
            g = g / (np.sqrt(nu[k] / (1 - config.beta2**step)) + config.eps)
            mu[k] = config.beta1 * mu[k] + (1 - config.beta1) * g
            params[k] = params[k] - rate * mu[k] / (1 - config.beta1**step)
        history.append(dict(params))
    return history, clipped


def _problem(grad_scale: float):
    rng = np.random.default_rng(0)
    params = {"enc/linear0/kernel": rng.standard_normal((3, 2)).astype(np.float32),
              "enc/linear0/bias": (1e-4 * rng.standard_normal(4)).astype(np.float32)}
    grads = [{k: (grad_scale * rng.standard_normal(v.shape)).astype(np.float32)
              for k, v in params.items()} for _ in range(STEPS)]
    return params, grads


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("grad_scale", [1e-5, 100.0], ids=["unclipped", "agc-clipped"])
def test_optimizer_chain_matches_numpy_formulas(grad_scale, jit):
    config = OptConfig(lr=1e-2, warmup=3)
    params, grads = _problem(grad_scale)
    chain = make_optimizer(config)
    update = jax.jit(chain.update) if jit else chain.update
    state, ours = chain.init(params), dict(params)
    expected, clipped = _numpy_chain(params, grads, config)
    # The 1e-4 bias has a norm far below pmin, so its bound is clip * pmin: tiny gradients
    # pass, large ones are clipped on every step.
    assert all(clipped) if grad_scale > 1 else not any(clipped)
    for step, g in enumerate(grads):
        updates, state = update(g, state, ours)
        ours = optax.apply_updates(ours, updates)
        # float32 1 - beta2**step loses about eps / (1 - beta2) ~ 1e-4 of relative precision,
        # and the RMS-scaled steps are O(lr): absolute tolerance in units of lr.
        for k in params:
            np.testing.assert_allclose(np.asarray(ours[k]), expected[step][k], rtol=1e-5,
                                       atol=1e-4 * config.lr, err_msg=f"{k} after step {step + 1}")
    np.testing.assert_array_equal(np.asarray(ours["enc/linear0/kernel"]) != params[
        "enc/linear0/kernel"], True, err_msg="the chain did not move every kernel entry")


def test_first_update_has_zero_learning_rate():
    params, grads = _problem(1.0)
    chain = make_optimizer(OptConfig(lr=1.0, warmup=10))
    updates, state = chain.update(grads[0], chain.init(params), params)
    assert all(float(jnp.abs(u).max()) == 0.0 for u in jax.tree.leaves(updates))
    updates, _ = chain.update(grads[1], state, params)
    assert all(float(jnp.abs(u).max()) > 0.0 for u in jax.tree.leaves(updates))


def test_state_maps_to_official_variable_names_and_back():
    params, grads = _problem(1.0)
    chain = make_optimizer(OptConfig(lr=1e-2, warmup=3))
    state = chain.init(params)
    for g in grads[:2]:
        _, state = chain.update(g, state, params)
    flat = to_official_flat(state)
    expected_keys = {"opt/state/1/0", "opt/state/2/0", "opt/state/3/count"}
    expected_keys |= {f"opt/state/{i}/1/{k}" for i in (1, 2) for k in params}
    assert set(flat) == expected_keys
    assert int(flat["opt/state/1/0"]) == int(flat["opt/state/2/0"]) == 2
    assert int(flat["opt/state/3/count"]) == 2
    assert float(jnp.abs(flat["opt/state/1/1/enc/linear0/kernel"]).min()) > 0, "nu is filled"
    restored = from_official_flat({**flat, "enc/linear0/kernel": params["enc/linear0/kernel"]},
                                  params)
    assert jax.tree.structure(restored) == jax.tree.structure(state)
    for ours, back in zip(jax.tree.leaves(state), jax.tree.leaves(restored), strict=True):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(back))
        assert np.asarray(ours).dtype == np.asarray(back).dtype


def test_from_official_flat_names_a_missing_variable():
    params, _ = _problem(1.0)
    flat = to_official_flat(make_optimizer(OptConfig()).init(params))
    del flat["opt/state/2/1/enc/linear0/bias"]
    with pytest.raises(KeyError, match=r"opt/state/2/1/enc/linear0/bias.*\(4,\)"):
        from_official_flat(flat, params)
