"""`python -m benchmarks.device_check`: refusals in one line before anything is timed, and the
learning-curve rows it prints. Its end-to-end run is `--smoke` (4.5 and 8 min in two runs on
the shared 2-core machine), run by hand, not here."""

from __future__ import annotations

import pytest

from benchmarks.device_check import FULL, SMOKE, _curve, _parse


@pytest.mark.parametrize("argv, message", [
    ([], "no GPU or TPU here (jax backend cpu); --smoke runs the check at debug size on the CPU"),
    (["--smoke", "--curve-seconds", "0"], "--curve-seconds must be positive, got 0"),
    (["--smoke", "--presets", "size12m,huge"], "--presets: unknown huge; choose from defaults, "
                                               "debug, cpu, size1m, size12m, size25m, size50m, "
                                               "size100m, size200m, size400m"),
], ids=["cpu-without-smoke", "zero-curve", "unknown-preset"])
def test_bad_input_is_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        _parse(argv)
    assert stopped.value.code == 2
    assert capsys.readouterr().err == (
        f"python -m benchmarks.device_check: error: {message} (see --help)\n")


def test_smoke_is_debug_size_and_the_full_check_the_official_sizes():
    assert _parse(["--smoke"]).settings == SMOKE
    assert FULL["presets"] == ("size12m", "size50m") and FULL["train_ratio"] == 512
    assert _parse(["--smoke", "--curve-seconds", "5"]).settings["curve_seconds"] == 5
    assert _parse(["--smoke", "--presets", "size12m"]).settings["presets"] == ("size12m",)


def test_curve_rows_weight_returns_by_episodes_and_skip_missing_losses():
    metrics = [{"env_steps": 8 * (i + 1), "episodes": float(i % 2),
                **({"episode/return": float(i)} if i % 2 else {}),
                **({"loss": 10.0 - i} if i >= 4 else {})} for i in range(16)]
    rows = _curve(metrics)
    assert rows[0] == ["16", "1", "1.00", "filling replay"]
    assert rows[2] == ["48", "1", "5.00", "5.5"]
    assert len(rows) == 8 and rows[-1][0] == "128"
