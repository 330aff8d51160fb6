"""The update-rule checks' diagnoses (parity_tests/test_update_rules.py) and their setting fits
(parity_tests/update_settings.py) on constructed cases whose answer is known: the share of the
online critic mixed in, each term's weight read from a total, the first update that differs,
and a setting found only where one setting reproduces the difference."""

from __future__ import annotations

import numpy as np
import pytest

from parity_tests import update_problems, update_settings
from parity_tests.test_update_rules import (
    mixed_shares,
    normaliser_diagnosis,
    optimizer_diagnosis,
    read_weights,
)


def _slow_trajectory(slow, online, shares):
    out, current = {k: [] for k in slow}, dict(slow)
    for k, share in enumerate(shares):
        current = {n: (1 - share) * current[n] + share * online[n][k] for n in slow}
        for n in slow:
            out[n].append(current[n])
    return {n: np.stack(v) for n, v in out.items()}


def test_mixed_shares_recover_the_rate_and_the_cadence():
    slow, online = update_problems.slow_critic_problem()
    shares = np.array([0.02, 0, 0, 0.5, 1.0, 0, 0.02, 0, 0, 0, 0, 0.3])
    recovered = mixed_shares(_slow_trajectory(slow, online, shares), slow, online)
    np.testing.assert_allclose(recovered, shares, atol=1e-6)


def test_read_weights_name_each_term_and_a_sum_grows_with_the_batch():
    names = ("dyn", "rep", "rew")
    scales = {"dyn": 1.0, "rep": 0.1, "rew": 1.0}

    def mean_total(terms):
        return sum(scales[n] * float(np.mean(terms[n])) for n in names)

    def summed_rep(terms):
        return mean_total(terms) - scales["rep"] * float(np.mean(terms["rep"])) + float(
            np.sum(terms["rep"]))

    assert read_weights(mean_total, names, (4, 10)) == pytest.approx(scales)
    small, large = (read_weights(summed_rep, names, shape) for shape in ((2, 6), (4, 10)))
    assert small["rep"] == pytest.approx(12) and large["rep"] == pytest.approx(40)
    assert small["dyn"] == large["dyn"] == pytest.approx(1.0)


def test_optimizer_diagnosis_names_the_first_update_and_the_norm_ratio():
    ref = {"a": np.concatenate([np.zeros((1, 3)), np.ones((5, 3))])}
    ours = {"a": ref["a"] * 1.5}
    allowed = {"a": np.full((6, 3), 1e-3)}
    text = optimizer_diagnosis(ours, ref, allowed, warmup=1)
    assert "first differs at update 2 of 6" in text
    assert "x1.5 to x1.5" in text
    ours["a"][0] = 0.1  # a step where the official takes none: the warmup's rate-0 update
    assert "official update is 0" in optimizer_diagnosis(ours, ref, allowed, warmup=1)
    assert optimizer_diagnosis(ref, ref, allowed, 1) == "every update within the allowed error"


def test_normaliser_diagnosis_names_the_first_update():
    ref = {"offset": np.zeros(4), "scale": np.ones(4)}
    ours = {"offset": np.zeros(4), "scale": np.array([1.0, 1.0, 2.0, 2.0])}
    text = normaliser_diagnosis(ours, ref)
    assert text.startswith("first differs at update 3 of 4") and "x1 to x2" in text


def test_a_setting_is_found_only_where_one_setting_reproduces_the_target():
    official = {"opt.lr": 4e-5, "opt.eps": 1e-20, "opt.beta1": 0.9, "opt.beta2": 0.999,
                "opt.warmup": 1000, "opt.agc": 0.3}

    def margin_of(true_key, true_value):
        def margin_at(key, value):
            if key != true_key:
                return 50.0
            if true_value == 0:
                return 0.0 if value == 0 else 50.0
            return abs(np.log(value / true_value)) / 1e-3  # within 0.1% of the truth
        return margin_at

    meaning, key, value = update_settings.explain("optimizer", official,
                                                  margin_of("opt.lr", 4.08e-5))
    assert key == "opt.lr" and value == pytest.approx(4.08e-5, rel=1e-3)
    assert meaning.startswith("opt.lr 4.08e-05 (official 4e-05)")
    assert update_settings.explain("optimizer", official, margin_of("opt.warmup", 0))[1:] == (
        "opt.warmup", 0)
    # a difference no setting reproduces (out of every range, or none at all) is not explained
    assert update_settings.explain("optimizer", official, margin_of("opt.lr", 4e-3)) is None
    assert update_settings.explain("optimizer", official, lambda key, value: 3.0) is None
