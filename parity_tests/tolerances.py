"""Every tolerance the suite uses, with the reason for it. Loosening one needs a finding.

float32 on CPU. Both sides run the same XLA CPU kernels for the same ops, but they are
separate programs: fusion and reduction order differ, so equal math agrees to a few ulps per op,
and errors grow with the number of ops chained (and with recurrence depth for gradients).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float
    reason: str
    # rtol relative to the largest |reference| entry of the same leaf (a parameter's gradient,
    # say) instead of to each element: entries near zero carry the leaf's rounding too.
    per_leaf: bool = False


TOLERANCES: dict[str, Tolerance] = {
    "exact": Tolerance(0.0, 0.0, "integer-valued or copied data: any difference is real"),
    "elementwise": Tolerance(
        1e-5, 1e-6,
        "a few float32 ops per element plus reductions over at most a few hundred classes or "
        "bins (softmax, entropy, KL, two-hot): measured worst 2e-6 relative (latent entropy); "
        "real convention errors (mean vs sum, wrong bins) are >= 1e-2",
    ),
    "recurrence": Tolerance(
        1e-5, 1e-6,
        "scans over time (lambda returns, cumprod weights): rounding accumulates over T "
        "steps; 1e-5 relative is ~100 ulps, far below any real convention error (>= 1e-2)",
    ),
    "forward": Tolerance(
        1e-5, 1e-5,
        "network forward passes in float32 (matmuls, convs, norms): separately fused programs "
        "round each layer differently, and 1e-5 relative (~100 ulps) leaves room for that "
        "through the network's depth; measured worst 1.6e-7 relative (vector_obs/loss/policy, "
        "PARITY.md of 2026-11-25)",
    ),
    "deep-forward": Tolerance(
        1e-4, 1e-4,
        "a module's output element by element after many layers that mix every element (the "
        "decoder's transposed convolutions into 64x64x3 pixels): separately fused programs "
        "round each of them differently and an element carries them all; measured worst "
        "8.3e-6 absolute on outputs in [0, 1] (networks/dec/image, AMD EPYC Zen 3), 12x room; "
        "an architecture variant (a norm after its activation, a missing sigmoid) moves "
        "outputs by >= 1e-2",
    ),
    "logit-gradient": Tolerance(
        1e-4, 1e-5,
        "gradients of softmax-based losses (KL, entropy) w.r.t. logits: each element is a "
        "difference of float32 probabilities, whose rounding reaches ~2e-6 absolute in "
        "saturated softmaxes (measured: 1.5e-6 where the exact value is ~1e-6), so an absolute "
        "floor of 1e-5 plus 1e-4 of the leaf's largest entry; a real error (KL mean instead "
        "of sum, a misplaced stop-gradient) changes elements by >= 1/stoch of the leaf's scale",
        per_leaf=True,
    ),
    "schedule": Tolerance(
        0.0, 1.0,
        "cumulative updates after every collect phase, absolute, in updates: the bound is "
        "prefill + one collect phase + atol (test_schedule.bound). The official loop runs no "
        "update until its replay holds batch_size x batch_length sequences (first update at "
        "env step B*L + envs*L, the adapter's run of the real Driver and Replay) and its "
        "elements.when.Ratio starts counting at that first call, so it stays prefill = "
        "(first update step) x train_ratio/(B*L) updates below a loop that counts from step 0; "
        "a lock-step loop runs a collect phase's updates at once; atol: whole updates on both "
        "sides. Measured (reimpl, 400k env steps): |difference| = prefill - 1 from the "
        "official start on (63 to 1023 updates; bound 65.5 to 1057); a misread ratio (batch "
        "length forgotten, fractions rounded per collect) drifts linearly past it",
    ),
    "gradient": Tolerance(
        1e-4, 0.0,
        "per parameter, relative to its largest gradient entry: measured worst 5e-6 "
        "(enc/cnn0/kernel, whose gradient sums ~73k float32 terms in an order XLA chooses per "
        "program; float64 puts ours within 3e-8 of the exact value); 20x room",
        per_leaf=True,
    ),
}


def get(name: str) -> Tolerance:
    if name not in TOLERANCES:
        raise KeyError(f"unknown tolerance {name!r}; define it in parity_tests/tolerances.py")
    return TOLERANCES[name]
