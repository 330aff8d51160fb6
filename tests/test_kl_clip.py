"""The KL gradient checks know the free-nats clip (parity_tests/test_latents.py).

At free nats 0 the official `RSSM.loss` skips the clip; an implementation that always takes
max(kl, free_nats) zeroes the gradient wherever its float32 KL rounds to <= 0. On a posterior
and prior 1e-3 apart (seed 114 below) the true KL is 2.4e-8 nats, the official float32 KL
+2.4e-8, the reimpl's (clipped) 0: the plain comparison failed by 1.1e-4 against an absolute
floor of 1e-5, a false alarm decided by rounding. The clip-aware reference accepts either
answer there and nowhere else, and a real mistake still fails.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from parity_tests import compare, tolerances
from parity_tests import test_latents as checks
from parity_tests.conftest import _reference_or_fail
from parity_tests.mutants import catalogue
from reimpl import rssm
from reimpl.config import RSSMConfig

TOLERANCE = tolerances.get("logit-gradient")


@pytest.fixture(scope="module")
def official():
    return _reference_or_fail()


def reimpl_kl(post, prior, unimix, free_nats):
    """The reimpl's terms: like the official code, no clip at free nats 0."""
    return rssm.kl_losses(jnp.asarray(post), jnp.asarray(prior),
                          RSSMConfig(unimix=unimix, free_nats=free_nats))


def always_clip(post, prior, unimix, free_nats):
    return {k: jnp.maximum(v, free_nats) for k, v in reimpl_kl(post, prior, unimix, 0.0).items()}


def mutant(**kind):
    fn = catalogue._kl_losses(**kind)
    return lambda post, prior, unimix, free_nats: fn(
        jnp.asarray(post), jnp.asarray(prior), RSSMConfig(unimix=unimix, free_nats=free_nats))


def near_equal_pair(seed=114):
    rng = np.random.default_rng(seed)
    post = rng.standard_normal((1, 1, 7)).astype(np.float32)
    return post, (post + 1e-3 * rng.standard_normal(post.shape)).astype(np.float32)


def clip_aware(fn, post, prior, term, free_nats):
    ours = checks.kl_gradients(fn, post, prior, term, free_nats)
    ref, near = checks.clip_aware_reference(ours, post, prior, term, free_nats)
    return compare.compare(ours, ref, TOLERANCE), near


def test_always_clipping_at_zero_is_no_false_alarm(official):
    post, prior = near_equal_pair()
    assert float(always_clip(post, prior, checks.UNIMIX, 0.0)["rep"][0]) == 0.0
    ours = checks.kl_gradients(always_clip, post, prior, "rep", 0.0)
    plain = checks.kl_gradients(None, post, prior, "rep", 0.0)
    assert not compare.compare(ours, plain, TOLERANCE).ok, "the pair no longer rounds: reseed"
    comparison, near = clip_aware(always_clip, post, prior, "rep", 0.0)
    assert near == 1 and comparison.ok, comparison.summary()


@pytest.mark.parametrize("term", ["dyn", "rep"])
@pytest.mark.parametrize("free_nats", [0.0, 1.0], ids=["free-nats-0", "official-free-nats"])
def test_implementations_that_clip_or_skip_agree(official, term, free_nats):
    rng = np.random.default_rng(0)
    post = (5 * rng.standard_normal((4, 4, 7))).astype(np.float32)
    for noise in (1e-3, 1.0, 3.0):
        prior = (post + noise * rng.standard_normal(post.shape)).astype(np.float32)
        for fn in (reimpl_kl, always_clip):
            comparison, _ = clip_aware(fn, post, prior, term, free_nats)
            assert comparison.ok, (fn.__name__, noise, comparison.summary())


@pytest.mark.parametrize("kind, free_nats, noise", [
    ({"swap_stop_gradients": True}, 0.0, 1e-3),
    ({"swap_stop_gradients": True}, 1.0, 3.0),
    ({"reduce": "mean"}, 1.0, 3.0),
    ({"clip": "per-latent"}, 1.0, 1.0),  # some latents under 1/4 nat, their sum over 1
], ids=["swapped-near-equal-free-nats-0", "swapped", "kl-mean", "clip-per-latent"])
def test_real_mistakes_still_fail(official, kind, free_nats, noise):
    rng = np.random.default_rng(1)
    post = rng.standard_normal((4, 4, 7)).astype(np.float32)
    prior = (post + noise * rng.standard_normal(post.shape)).astype(np.float32)
    comparison, _ = clip_aware(mutant(**kind), post, prior, "rep", free_nats)
    assert not comparison.ok, comparison.summary()
