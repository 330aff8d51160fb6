"""The registry gate: unregistered findings fail at once; a registered difference that
agrees in every example of a run is reported as vanished."""

from __future__ import annotations

import numpy as np
import pytest

from parity_tests.findings import Known, Recorder

CHECK = "area/quantity/variant"


def _recorder(registered: bool) -> Recorder:
    registry = {CHECK: Known(CHECK, "DIFF", "accepted")} if registered else {}
    return Recorder(registry=registry, target="test")


def _check(recorder, ours):
    return recorder.check(CHECK, "DIFF", "a quantity", np.asarray(ours), np.asarray([1.0]),
                          "elementwise")


def test_unregistered_difference_fails():
    with pytest.raises(pytest.fail.Exception, match="unregistered finding"):
        _check(_recorder(False), [2.0])


def test_registered_difference_passes_and_stays_registered():
    recorder = _recorder(True)
    _check(recorder, [1.0])  # one example agrees by chance...
    _check(recorder, [2.0])  # ...another differs: the difference still reproduces
    assert recorder.vanished() == []
    assert recorder.by_check[CHECK].status == "known"


def test_registered_difference_that_always_agrees_has_vanished():
    recorder = _recorder(True)
    _check(recorder, [1.0])
    _check(recorder, [1.0])
    assert recorder.vanished() == [CHECK]
    assert recorder.by_check[CHECK].status == "vanished"
