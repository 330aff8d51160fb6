"""Categorical latents with unimix (official `RSSM._dist`), the KL terms, straight-through
samples, and the discrete policy distribution (official `Head.categorical`, no unimix)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from parity_tests import declarations, strategies
from reference_adapter import pieces

UNIMIX = 0.01  # dyn.rssm.unimix


@given(logits=strategies.logits())
def test_latents_unimix_probs(logits, official, target, parity):
    check, description = "latents/unimix/probs", "latent probabilities after 1% unimix"
    probs = parity.piece(target, "latent_probs", check, "CRITDIFF", description)
    ref = np.asarray(pieces.latent_probs(logits, UNIMIX))
    parity.check(check, "CRITDIFF", description, np.asarray(probs(logits, UNIMIX)), ref,
                 "elementwise")


@given(logits=strategies.logits())
def test_latents_entropy(logits, official, target, parity):
    check, description = "latents/unimix/entropy", "entropy summed over the stoch axis"
    entropy = parity.piece(target, "latent_entropy", check, "CRITDIFF", description)
    ref = np.asarray(pieces.latent_entropy(logits, UNIMIX))
    parity.check(check, "CRITDIFF", description, np.asarray(entropy(logits, UNIMIX)), ref,
                 "elementwise")


def _kl_inputs(data):
    post = data.draw(strategies.logits())
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    prior = (post + rng.standard_normal(post.shape)).astype(np.float32)
    free_nats = data.draw(st.sampled_from([0.0, 1.0]))
    return post, prior, free_nats


@given(data=st.data())
def test_latents_kl_values(data, official, target, parity):
    check = "latents/kl/values"
    description = "dyn and rep KL per element: summed over latents, then clipped at free nats"
    kl = parity.piece(target, "latent_kl_losses", check, "CRITDIFF", description)
    reduction = declarations.reduction(target, "latent_kl_losses")
    post, prior, free_nats = _kl_inputs(data)
    ours = {k: np.asarray(v) for k, v in kl(post, prior, UNIMIX, free_nats).items()}
    ref = declarations.reduce(pieces.kl_losses(post, prior, UNIMIX, free_nats), reduction)
    parity.check(check, "CRITDIFF", declarations.described(description, reduction), ours,
                 {k: np.asarray(v) for k, v in ref.items()}, "elementwise")


@pytest.mark.parametrize("term", ["dyn", "rep"], ids=["dyn", "rep"])
@given(data=st.data())
def test_latents_kl_gradients(term, data, official, target, parity):
    """dyn trains only the prior, rep only the posterior: the stop-gradients must sit where the
    official ones do."""
    check = f"latents/kl/grad-{term}"
    description = f"d {term} / d (posterior, prior logits)"
    kl = parity.piece(target, "latent_kl_losses", check, "CRITDIFF", description)
    reduction = declarations.reduction(target, "latent_kl_losses")
    post, prior, _ = _kl_inputs(data)

    def official(a, b, unimix, free_nats):
        return declarations.reduce(pieces.kl_losses(a, b, unimix, free_nats), reduction)

    def grads(fn):
        return jax.grad(lambda a, b: fn(a, b, UNIMIX, 0.0)[term].sum(), argnums=(0, 1))(
            jnp.asarray(post), jnp.asarray(prior))

    parity.check(check, "CRITDIFF", declarations.described(description, reduction), grads(kl),
                 grads(official), "logit-gradient")


@given(logits=strategies.logits(), weights_seed=st.integers(0, 2**32 - 1))
def test_latents_straight_through_gradient(logits, weights_seed, official, target, parity):
    """The mode sample is one-hot forward and carries the softmax gradient backward."""
    check = "latents/straight-through"
    description = "value and d sum(w * sample) / d logits of the (mode) latent sample"
    sample = parity.piece(target, "latent_sample", check, "CRITDIFF", description)
    weights = np.random.default_rng(weights_seed).standard_normal(logits.shape)

    def ours(x):
        return (weights * sample(x, UNIMIX, None)).sum()

    def ref(x):
        return (weights * pieces.latent_mode(x, UNIMIX)).sum()

    ours_out = (jax.grad(ours)(jnp.asarray(logits)), sample(logits, UNIMIX, None))
    ref_out = (jax.grad(ref)(jnp.asarray(logits)), pieces.latent_mode(logits, UNIMIX))
    parity.check(check, "CRITDIFF", description, ours_out, ref_out, "elementwise")


def test_latents_sampling_frequencies(official, target, parity):
    """Samples follow the unimixed probabilities: a chi-square test per latent at a stated
    false-alarm rate (1e-6 per latent; 8 latents, so < 1e-5 per run)."""
    check = "latents/sampling-frequencies"
    description = "empirical class frequencies of 20000 samples against official probabilities"
    sample = parity.piece(target, "latent_sample", check, "BUG", description)
    logits = np.random.default_rng(0).normal(0, 2, (1, 8, 6)).astype(np.float32)
    draws = 20_000
    keys = jax.random.split(jax.random.key(0), draws)
    onehots = np.asarray(jax.vmap(lambda k: sample(logits, UNIMIX, k))(keys))  # [N, 1, 8, 6]
    counts = onehots.sum(0)[0]  # [8, 6]
    probs = np.asarray(pieces.latent_probs(logits, UNIMIX))[0]
    pvalues = [stats.chisquare(c, p * draws).pvalue for c, p in zip(counts, probs, strict=True)]
    worst = min(pvalues)
    parity.verdict(check, "BUG", description, worst > 1e-6,
                   f"smallest chi-square p-value {worst:.2e} (threshold 1e-6)",
                   f"smallest chi-square p-value {worst:.2g} over 8 latents")


@given(logits=strategies.logits(stoch=1), seed=st.integers(0, 2**32 - 1))
def test_latents_policy_distribution(logits, seed, official, target, parity):
    check = "policy/categorical/logp-entropy"
    description = "discrete policy log-probs and entropy (official: no unimix)"
    logp = parity.piece(target, "policy_log_prob", check, "DIFF", description)
    entropy = parity.piece(target, "policy_entropy", check, "DIFF", description)
    logits = logits[:, 0]  # [B, actions]
    actions = np.random.default_rng(seed).integers(0, logits.shape[-1], logits.shape[0])
    ref_dist = pieces.policy_dist(logits)
    ours = {"logp": np.asarray(logp(logits, actions)), "entropy": np.asarray(entropy(logits))}
    ref = {"logp": np.asarray(ref_dist.logp(actions)), "entropy": np.asarray(ref_dist.entropy())}
    parity.check(check, "DIFF", description, ours, ref, "elementwise")
