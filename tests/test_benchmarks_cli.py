"""`python -m benchmarks` answers bad input with one line and exit code 2 before timing anything.
It printed the usage before an unknown option's error, and took `--repeats 0` for the default
(a negative count went on to the timings)."""

from __future__ import annotations

import pytest

from benchmarks.__main__ import _parse


@pytest.mark.parametrize("argv, message", [
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--repeats", "0"], "--repeats must be at least 1, got 0"),
    (["--repeats", "-2"], "--repeats must be at least 1, got -2"),
    (["--only", "loop,nope"], "--only: unknown nope; choose from train_step, policy_step, loop, "
                              "flops"),
    (["--loop-presets", "huge"], "--loop-presets: unknown huge; choose from "),
], ids=["unknown-option", "zero-repeats", "negative-repeats", "unknown-benchmark",
        "unknown-preset"])
def test_bad_input_is_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        _parse(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"python -m benchmarks: error: {message}")
    assert err.endswith(" (see --help)\n") and err.count("\n") == 1


def test_defaults_and_quick():
    assert _parse([]).repeats == 5 and _parse(["--quick"]).presets == ["debug"]
