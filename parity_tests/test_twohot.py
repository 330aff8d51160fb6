"""Two-hot symexp heads (reward and value): bins, prediction and loss.

Official facts (embodied/jax/heads.py `Head.symexp_twohot`, outs.py `TwoHot`): the bins are
symexp of points evenly spaced over [-20, 20], built from one half and mirrored so 0 is exact,
and stored in RAW space; the loss interpolates the raw target between its two neighbouring raw
bins; pred() is the symmetric-order weighted sum of raw bins, with no symexp afterwards.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parity_tests import declarations, strategies
from reference_adapter import pieces

BIN_COUNTS = [pytest.param(255, id="255-official"), pytest.param(5, id="5-debug"),
              pytest.param(256, id="256-even")]


@pytest.mark.parametrize("num_bins", BIN_COUNTS)
def test_twohot_bins(num_bins, official, target, parity):
    check, description = f"twohot/bins/{num_bins}", f"bin positions for {num_bins} bins"
    bins = parity.piece(target, "twohot_bins", check, "DIFF", description)
    ref = pieces.twohot_bins(num_bins)
    parity.check(check, "DIFF", description, np.asarray(bins(num_bins)), ref, "elementwise")


@given(logits=strategies.logits(stoch=1, classes=255), data=st.data())
def test_twohot_pred(logits, data, official, target, parity):
    check, description = "twohot/pred/random-logits", "expected value under random logits"
    pred = parity.piece(target, "twohot_pred", check, "DIFF", description)
    logits = logits[:, 0]  # [B, 255]
    ref = pieces.twohot_pred(logits)
    ours = np.asarray(pred(logits))
    # The prediction is a weighted sum of bins up to 4.85e8 whose order of summation XLA may
    # change: rounding is relative to sum |p_i * bin_i|, not to the (cancelled) result.
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    scale = np.maximum(1.0, (probs * np.abs(pieces.twohot_bins(255))).sum(-1))
    parity.check(check, "DIFF", description, ours / scale, ref / scale, "elementwise")


def test_twohot_pred_is_exactly_zero_for_uniform_logits(official, target, parity):
    check = "twohot/pred/uniform-zero"
    description = "uniform logits predict exactly 0 (the official symmetric sum, op by op)"
    pred = parity.piece(target, "twohot_pred", check, "MINOR", description)
    ours = np.asarray(pred(np.zeros((3, 255), np.float32)))
    ref = pieces.twohot_pred(np.zeros((3, 255), np.float32), eager=True)
    assert (ref == 0).all(), "the official head predicts exactly 0 op by op"
    parity.check(check, "MINOR", description, ours, ref, "exact")


@given(targets=strategies.twohot_targets(), seed=st.integers(0, 2**32 - 1))
def test_twohot_loss(targets, seed, official, target, parity):
    # Same logits over the same bins: a different loss puts the target's mass on other bins,
    # wrong by any reading, unless it is the official loss in another official form (over the
    # target's own bins, or the first release's symlog-space interpolation): then a [DIFF]
    # that says which.
    check, description = "twohot/loss/targets", "loss for targets in and far outside the bins"
    loss = parity.piece(target, "twohot_loss", check, "BUG", description)
    reduction = declarations.reduction(target, "twohot_loss")
    logits = np.random.default_rng(seed).standard_normal((len(targets), 255)).astype(np.float32)
    ours = np.asarray(loss(logits, targets))
    ref = np.asarray(declarations.reduce(pieces.twohot_loss(logits, targets), reduction))
    bins = getattr(target, "twohot_bins", None)
    forms = [] if bins is None else [
        ("the official loss over the target's own bins (see twohot/bins/255)", False),
        ("the first release's two-hot: targets symlog'd and interpolated between the target's "
         "bins in symlog space (TwoHot's squash)", True)]
    explanations = [(meaning, "DIFF", declarations.reduce(pieces.twohot_loss_on_bins(
        logits, targets, np.asarray(bins(255)), symlog_space), reduction))
        for meaning, symlog_space in forms]
    parity.check(check, "BUG", declarations.described(description, reduction), ours, ref,
                 "elementwise", explanations)


# The largest |target| test_twohot_is_finite_everywhere has tried in this run: each example's
# record states it, and the report keeps the latest of equally good records.
_LARGEST_TARGET = {"twohot/finite": 0.0}


@given(targets=strategies.twohot_targets())
def test_twohot_is_finite_everywhere(targets, target, parity):
    """No inf or NaN in prediction, loss or the loss gradient, whatever the target."""
    check = "twohot/finite"
    description = "pred, loss and d loss / d logits finite for targets up to 3e38"
    loss = parity.piece(target, "twohot_loss", check, "BUG", description)
    pred = parity.piece(target, "twohot_pred", check, "BUG", description)
    logits = np.linspace(-3, 3, 255 * len(targets), dtype=np.float32).reshape(-1, 255)
    grads = jax.grad(lambda x: loss(x, targets).sum())(logits)
    values = {"pred": np.asarray(pred(logits)), "loss": np.asarray(loss(logits, targets)),
              "grad": np.asarray(grads)}
    bad = [name for name, value in values.items() if not np.isfinite(value).all()]
    largest = max(_LARGEST_TARGET[check], float(np.abs(targets).max()))
    _LARGEST_TARGET[check] = largest
    parity.verdict(check, "BUG", description, not bad, f"non-finite {bad} for {targets}",
                   f"pred, loss and gradient finite for every target tried (magnitudes up to "
                   f"{largest:.1e})")
