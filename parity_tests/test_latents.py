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

from parity_tests import declarations, settings_explained, strategies, tolerances
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


FREE_NATS = 1.0  # dyn.rssm.free_nats
# Where a KL is within float32 rounding of the free nats, whether an implementation clips it is
# decided by rounding, not by its algorithm: its gradient may be the whole gradient or 0. The
# band: 128 float32 ulps of sum p (|log p| + |log q|), 4x the worst KL rounding measured
# against float64 (33 ulps for the official and the reimpl's KL, 19 for sum p log p -
# sum p log q; 3000 examples of this file's strategies, near-equal pairs included), so both
# sides' rounding fits in it.
CLIP_BAND_ULPS = 128


def _kl_inputs(data, free_nats=None, noises=(1.0,)):
    """Posterior and prior logits, the prior the posterior plus noise of a scale drawn from
    `noises` (1e-3: KLs of 1e-8 nats, whose float32 sign is rounding; 3: most KLs above the
    free nats, so the clip leaves gradients to compare)."""
    post = data.draw(strategies.logits())
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    noise = data.draw(st.sampled_from(noises))
    prior = (post + noise * rng.standard_normal(post.shape)).astype(np.float32)
    if free_nats is None:
        free_nats = data.draw(st.sampled_from([0.0, FREE_NATS]))
    return post, prior, free_nats


def kl_near_clip(post, prior, free_nats) -> np.ndarray:
    """[..., S, 1] bool: latents whose gradient a correct implementation may have clipped
    away by rounding. Their element's KL (exact, float64) is within the band of the free nats;
    at free nats 0 also any latent's own KL within its band of 0, since clipping a latent's
    KL at 0 is no clip in exact arithmetic."""
    p, q = (np.asarray(pieces.latent_probs(x, UNIMIX), np.float64) for x in (post, prior))
    kl = (p * (np.log(p) - np.log(q))).sum(-1)  # [..., S]
    band = CLIP_BAND_ULPS * np.finfo(np.float32).eps * (
        p * (np.abs(np.log(p)) + np.abs(np.log(q)))).sum(-1)
    near = np.abs(kl.sum(-1, keepdims=True) - free_nats) <= band.sum(-1, keepdims=True)
    if not free_nats:
        near = near | (kl <= band)
    return np.broadcast_to(near, kl.shape)[..., None]


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
                 {k: np.asarray(v) for k, v in ref.items()}, "elementwise",
                 setting=lambda: _explained(
                     kl, post, prior, free_nats, reduction,
                     lambda unimix, nats: {k: np.asarray(v) for k, v in declarations.reduce(
                         pieces.kl_losses(post, prior, unimix, nats), reduction).items()}))


def _kl_setting(kl, post, prior, free_nats, reduction):
    """(key, fitted, given) of the one setting the piece is handed, free nats or unimix, at
    which the official KL values are the target's (a value fixed in code that ignores the
    argument), or None."""
    ours = {k: np.asarray(v) for k, v in kl(post, prior, UNIMIX, free_nats).items()}
    tolerance = tolerances.get("elementwise")

    def official(unimix, nats):
        return {k: np.asarray(v) for k, v in declarations.reduce(
            pieces.kl_losses(post, prior, unimix, nats), reduction).items()}

    for key, given, lowest, highest, at in (
            ("dyn.rssm.free_nats", free_nats, 0.0, 10.0, lambda v: official(UNIMIX, v)),
            ("dyn.rssm.unimix", UNIMIX, 0.0, 0.5, lambda v: official(v, free_nats))):
        fitted = settings_explained.fit(ours, at, lowest, highest, given, tolerance)
        if fitted is not None:
            return key, fitted, given
    return None


def _explained(kl, post, prior, free_nats, reduction, official_at):
    """(meaning, the official quantity at the fitted setting) for a check of the KL piece:
    `official_at(unimix, free_nats)` computes it."""
    found = _kl_setting(kl, post, prior, free_nats, reduction)
    if found is None:
        return None
    key, fitted, given = found
    unimix, nats = (UNIMIX, fitted) if key.endswith("free_nats") else (fitted, free_nats)
    return (f"{key} {fitted:.4g} where the piece was given {given:g} (a value fixed in code)",
            official_at(unimix, nats))


def kl_gradients(fn, post, prior, term, free_nats, reduction="none"):
    """d sum(term) / d (posterior, prior logits); `fn=None` is the official terms."""
    if fn is None:
        def fn(a, b, unimix, free_nats):
            return declarations.reduce(pieces.kl_losses(a, b, UNIMIX, free_nats), reduction)
    return jax.grad(lambda a, b: fn(a, b, UNIMIX, free_nats)[term].sum(), argnums=(0, 1))(
        jnp.asarray(post), jnp.asarray(prior))


def clip_aware_reference(ours, post, prior, term, free_nats, reduction="none"):
    """The official gradient, except in latents near the clip (kl_near_clip): there the target
    clipped (gradient 0) or did not (the unclipped official gradient), and the reference is
    whichever of the two is nearer to the target's. Returns it and the number of such latents."""
    ref = kl_gradients(None, post, prior, term, free_nats, reduction)
    unclipped = kl_gradients(None, post, prior, term, 0.0, reduction)
    near = kl_near_clip(post, prior, free_nats)
    chosen = []
    for mine, full, official in zip(ours, unclipped, ref, strict=True):
        mine, full = np.asarray(mine), np.asarray(full)
        nearer_zero = np.abs(mine).sum(-1, keepdims=True) < np.abs(mine - full).sum(
            -1, keepdims=True)
        chosen.append(np.where(near, np.where(nearer_zero, 0.0, full), np.asarray(official)))
    return tuple(chosen), int(near.sum())


KL_GRADIENT_CASES = [pytest.param(FREE_NATS, "", id="official-free-nats"),
                     pytest.param(0.0, "/free-nats-0", id="free-nats-0")]


@pytest.mark.parametrize("term", ["dyn", "rep"], ids=["dyn", "rep"])
@pytest.mark.parametrize("free_nats, suffix", KL_GRADIENT_CASES)
@given(data=st.data())
def test_latents_kl_gradients(term, free_nats, suffix, data, official, target, parity):
    """dyn trains only the prior, rep only the posterior: the stop-gradients must sit where the
    official ones do, and the clip after the sum over latents. At the official free nats (1)
    and, as its own case, at 0, where the official code skips the clip and near-equal
    posteriors and priors put KLs within rounding of it (clip_aware_reference)."""
    check = f"latents/kl/grad-{term}{suffix}"
    description = f"d {term} / d (posterior, prior logits) at free nats {free_nats:g}"
    kl = parity.piece(target, "latent_kl_losses", check, "CRITDIFF", description)
    reduction = declarations.reduction(target, "latent_kl_losses")
    post, prior, _ = _kl_inputs(data, free_nats, (1.0, 1e-3) if free_nats == 0 else (1.0, 3.0))
    ours = kl_gradients(kl, post, prior, term, free_nats)
    ref, _ = clip_aware_reference(ours, post, prior, term, free_nats, reduction)

    def official_at(unimix, nats):
        if unimix == UNIMIX:
            return clip_aware_reference(ours, post, prior, term, nats, reduction)[0]
        return kl_gradients(lambda a, b, _, f: declarations.reduce(
            pieces.kl_losses(a, b, unimix, f), reduction), post, prior, term, nats)

    parity.check(check, "CRITDIFF", declarations.described(description, reduction), ours, ref,
                 "logit-gradient", setting=lambda: _explained(kl, post, prior, free_nats,
                                                              reduction, official_at))


@given(logits=strategies.logits(), seed=st.integers(0, 2**32 - 1))
def test_latents_straight_through_gradient(logits, seed, official, target, parity):
    """A sample drawn with a key is exactly one-hot forward and carries the softmax gradient of
    the unimixed probabilities backward. The official gradient does not depend on which class
    was drawn (`OneHot._onehot_with_grad`: one-hot + probs - sg(probs), for a sample and for
    the mode alike), so the target samples with its own key and no deterministic mode is
    needed; which classes it draws is `latents/sampling-frequencies`' question."""
    check = "latents/straight-through"
    description = ("d sum(w * sample) / d logits of a sampled latent, and the sample one-hot "
                   "(compared with the one-hot of its own largest entry)")
    sample = parity.piece(target, "latent_sample", check, "CRITDIFF", description)
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal(logits.shape)
    key = jax.random.key(int(rng.integers(2**31)))

    def ours(x):
        return (weights * sample(x, UNIMIX, key)).sum()

    def ref(x):
        return (weights * pieces.latent_mode(x, UNIMIX)).sum()

    drawn = np.asarray(sample(logits, UNIMIX, key))
    ours_out = (jax.grad(ours)(jnp.asarray(logits)), drawn)
    ref_out = (jax.grad(ref)(jnp.asarray(logits)),
               np.asarray(jax.nn.one_hot(drawn.argmax(-1), drawn.shape[-1])))
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
