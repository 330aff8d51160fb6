"""Reach against the noise floor (parity_tests/time_patterns.py): a move counts as reached,
weakly reached or not reached, relative to the output's scale and to the side's own noise, and
only "reached" against "not reached" is a difference."""

from __future__ import annotations

import numpy as np

from parity_tests import time_patterns
from parity_tests.time_patterns import Reach, diagnose, patterns, resolved


def _run(weak_effect: float, noise: float = 0.0):
    """A loss over 4 steps, the largest 20: input step t moves loss step t by 1 and loss step
    t + 1 by `weak_effect` (absolute); `noise` added at random to every output each call."""
    rng = np.random.default_rng(0)

    def run(data):
        x = np.asarray(data["x"], np.float64)
        loss = 20.0 * np.ones_like(x) + x
        loss[:, 1:] += weak_effect * x[:, :-1]
        return {"loss": loss + noise * rng.standard_normal(loss.shape)}

    return run


def _reach(run) -> Reach:
    add = lambda values, t: time_patterns.changed_at(values, t, lambda v: v + 1)  # noqa: E731
    return patterns(run, {"x": np.zeros((1, 4))}, "x", add)["loss"]


def test_a_weak_but_real_dependency_is_reported_as_weak_not_as_a_difference():
    # a loss moving by 7e-5 where the largest is 20: 3.5e-6 of the scale, below REACHED
    weak, strong = _reach(_run(7e-5)), _reach(_run(1e-2))
    assert not weak.reached[0, 0, 1] and weak.touched[0, 0, 1] and strong.reached[0, 0, 1]
    mine, reference, count = resolved(weak, strong)
    assert diagnose(mine, reference, "x", "loss")[0] and count == 3
    assert "3 of them weakly" in time_patterns.reach_text(reference, count)


def test_reached_against_not_reached_is_a_difference():
    none, strong = _reach(_run(0.0)), _reach(_run(1e-2))
    assert (none.moved[0, 0, 1:] == 0).all()  # an unreached step keeps its output bit for bit
    mine, reference, count = resolved(none, strong)
    agrees, tag, _ = diagnose(mine, reference, "x", "loss")
    assert not agrees and count == 0


def test_a_move_within_a_few_ulps_counts_as_not_reached():
    # 2e-6 absolute on a scale of 20: 1e-7 relative, about one float32 ulp
    rounding, none = _reach(_run(2e-6)), _reach(_run(0.0))
    assert not rounding.touched[0, 0, 1]
    assert diagnose(*resolved(rounding, none)[:2], "x", "loss")[0]


def test_a_nondeterministic_side_has_its_noise_measured_and_the_bounds_raised():
    noisy = _reach(_run(0.0, noise=1e-4))  # 5e-6 of the scale between two runs
    assert noisy.noise > 1e-6
    assert not noisy.reached[0, 0, 1:].any() and not noisy.touched[0, 0, 1:].any()
    assert noisy.reached[0, 0, 0]  # the step itself moves by 1/21, far above the noise
    assert _reach(_run(0.0)).noise == 0.0  # a deterministic program: exactly none
