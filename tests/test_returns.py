"""lambda_return against plain-Python loops, and the textbook index shift on simulated episode
streams (the official agent itself is compared in parity_tests/)."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reimpl.returns import lambda_return, lambda_return_textbook

REWARD_SCALES = (1e-3, 1.0, 1e3, 1e6)


def _official_loop(last, term, rew, boot, disc, lam):
    """The official recursion in float64, one time step per Python iteration."""
    following = boot[:, -1].astype(np.float64)
    returns = np.zeros((rew.shape[0], rew.shape[1] - 1))
    for t in reversed(range(rew.shape[1] - 1)):
        live = (1 - term[:, t + 1]) * disc
        mix = (1 - last[:, t + 1]) * lam
        following = rew[:, t + 1] + live * ((1 - mix) * boot[:, t + 1] + mix * following)
        returns[:, t] = following
    return returns


def _textbook_loop(last, term, rew, value, disc, lam):
    """TD(lambda) as textbooks write it, one transition t -> t+1 per row, with branches
    instead of masks: a terminal transition ends the return, a truncated one bootstraps."""
    batch, length = rew.shape
    returns = np.zeros((batch, length))
    for b in range(batch):
        following = float(value[b, -1])
        for t in reversed(range(length)):
            if term[b, t]:
                following = float(rew[b, t])
            elif last[b, t]:
                following = rew[b, t] + disc * float(value[b, t + 1])
            else:
                following = rew[b, t] + disc * (
                    (1 - lam) * float(value[b, t + 1]) + lam * following)
            returns[b, t] = following
    return returns


def _simulate(rng, batch, transitions, scale, end_rate):
    """A stream of transitions written down in both conventions.

    The environment emits, per transition into observation i+1, its reward and whether the
    new observation is terminal or the episode's last (terminal or truncated). After a last
    observation the next one starts a new episode and carries no reward. Observation 0 starts
    the window wherever it falls (mid-episode or on a first step): its own fields are random.
    """
    events = {"rew": np.zeros((batch, transitions), np.float32),
              "term": np.zeros((batch, transitions), bool),
              "last": np.zeros((batch, transitions), bool)}
    previous_last = rng.random(batch) < 0.5
    for i in range(transitions):
        ends = rng.random(batch) < end_rate
        terminal = ends & (rng.random(batch) < 0.5)
        reward = (scale * rng.standard_normal(batch)).astype(np.float32)
        events["rew"][:, i] = np.where(previous_last, 0.0, reward)
        events["term"][:, i] = np.where(previous_last, False, terminal)
        events["last"][:, i] = np.where(previous_last, False, ends)
        previous_last = events["last"][:, i]
    value = (scale * rng.standard_normal((batch, transitions + 1))).astype(np.float32)
    first = {"rew": (scale * rng.standard_normal((batch, 1))).astype(np.float32),
             "term": rng.random((batch, 1)) < 0.3, "last": rng.random((batch, 1)) < 0.3}
    # Official: the fields arrive with the observation the transition leads to.
    official = {k: np.concatenate([first[k], events[k]], 1) for k in events}
    official.update(boot=value, val=value)
    # Textbook: the fields belong to the observation the transition leaves.
    textbook = {k: events[k] for k in events}
    textbook.update(boot=value)
    return official, textbook


@st.composite
def streams(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batch, transitions = draw(st.integers(1, 3)), draw(st.integers(1, 14))
    scale, end_rate = draw(st.sampled_from(REWARD_SCALES)), draw(st.sampled_from([0.0, 0.2, 0.6]))
    official, textbook = _simulate(rng, batch, transitions, scale, end_rate)
    disc = draw(st.sampled_from([1.0, 1 - 1 / 333, 0.9]))
    lam = draw(st.sampled_from([0.0, 0.5, 0.95, 1.0]))
    return official, textbook, disc, lam, scale


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(2, 12),
       lam=st.sampled_from([0.0, 0.95, 1.0]), soft=st.booleans())
def test_lambda_return_scan_equals_python_loop(jit, seed, length, lam, soft):
    rng = np.random.default_rng(seed)
    shape = (3, length)
    last = (rng.random(shape) < 0.3).astype(np.float32)
    # Imagination passes a soft term (1 - continuation probability), replay a boolean one.
    term = rng.random(shape).astype(np.float32) if soft else rng.random(shape) < 0.2
    rew, val, boot = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
    function = jax.jit(lambda_return, static_argnums=(5, 6)) if jit else lambda_return
    ours = np.asarray(function(last, term, rew, val, boot, 0.99, lam))
    assert ours.shape == (3, length - 1)
    expected = _official_loop(last, term, rew, boot, 0.99, lam)
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)


@settings(max_examples=40)
@given(stream=streams())
def test_textbook_shift_equals_official_on_simulated_streams(stream):
    """The same stream stored both ways gives bit-identical returns: the shift is exact."""
    official, textbook, disc, lam, _ = stream
    expected = np.asarray(lambda_return(
        official["last"], official["term"], official["rew"], official["val"],
        official["boot"], disc, lam))
    ours = np.asarray(lambda_return_textbook(
        textbook["last"], textbook["term"], textbook["rew"], textbook["boot"], disc, lam))
    assert ours.shape == textbook["rew"].shape
    np.testing.assert_array_equal(ours, expected)


@settings(max_examples=40)
@given(stream=streams())
def test_textbook_return_equals_textbook_loop(stream):
    """Rewards up to 1e6: compare in units of the input magnitude, since float32 rounding is
    relative to the largest summand, not to a (possibly cancelled) result."""
    _, textbook, disc, lam, scale = stream
    ours = np.asarray(lambda_return_textbook(
        textbook["last"], textbook["term"], textbook["rew"], textbook["boot"], disc, lam))
    expected = _textbook_loop(
        textbook["last"], textbook["term"], textbook["rew"], textbook["boot"], disc, lam)
    np.testing.assert_allclose(ours / scale, expected / scale, rtol=1e-5, atol=1e-4)


def test_off_by_one_shift_is_caught():
    """The checks above have power: feeding textbook arrays to the official function without
    the shift (rewards one step late) disagrees with the textbook loop."""
    _, textbook = _simulate(np.random.default_rng(3), 2, 8, 1.0, 0.3)
    disc, lam = 0.99, 0.95
    wrong = np.asarray(lambda_return(
        textbook["last"], textbook["term"], textbook["rew"], textbook["rew"],
        textbook["boot"][:, :-1], disc, lam))
    expected = _textbook_loop(
        textbook["last"], textbook["term"], textbook["rew"], textbook["boot"], disc, lam)
    assert np.abs(wrong - expected[:, :-1]).max() > 1e-2


def test_textbook_rejects_value_without_bootstrap_column():
    rew = np.zeros((2, 5), np.float32)
    with pytest.raises(ValueError, match=r"one value more.*\(2, 6\)"):
        lambda_return_textbook(rew, rew, rew, np.zeros((2, 5), np.float32), 0.99, 0.95)
