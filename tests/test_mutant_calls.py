"""parity_tests/mutants/calls.py: the recorder sees the calls of what the mutants replace
(functions, static methods) without changing what they compute, and the selection keeps every
check that can see a mutant: callers, later checks of a caller's file, users of a fixture that
called it, and every check when it ran outside any check or cannot be watched."""

from __future__ import annotations

import types

from parity_tests.mutants import calls


def _module():
    module = types.ModuleType("fake_reimpl")

    class Dist:
        @staticmethod
        def sample(x):
            return x + 1

    module.double = lambda x: 2 * x
    module.Dist = Dist
    module.BINS = 255
    return module


def test_planting_with_a_recording_patch_replaces_nothing():
    module = _module()
    original = module.double

    def plant(patch):
        patch(module, "double", lambda x: 3 * x)
        patch(module.Dist, "sample", staticmethod(lambda x: x))

    found = calls.planted(plant)
    assert found == {"fake_reimpl.double": (module, "double"),
                     f"{__name__}.{module.Dist.__qualname__}.sample": (module.Dist, "sample")}
    assert module.double is original


def test_the_recorder_notes_calls_per_check_and_fixture_and_computes_the_same():
    module = _module()
    attributes = {"m.double": (module, "double"), "m.sample": (module.Dist, "sample"),
                  "m.BINS": (module, "BINS")}
    recorder = calls.Recorder(attributes)
    assert recorder.unwatched == ["m.BINS"]  # a constant cannot be watched
    module.double(1)  # outside any check
    recorder.begin_check("test_a.py::one")
    recorder.begin_fixture()
    assert module.Dist.sample(1) == 2 and module.Dist().sample(1) == 2  # still a staticmethod
    recorder.end_fixture("model")
    recorder.end_check("test_a.py::one", ["model"])
    recorder.begin_check("test_a.py::two")
    assert module.double(4) == 8
    recorder.end_check("test_a.py::two", [])
    assert recorder.outside == {"m.double"}
    assert recorder.checks == {"test_a.py::one": {"calls": ["m.sample"], "fixtures": ["model"]},
                               "test_a.py::two": {"calls": ["m.double"], "fixtures": []}}
    assert recorder.fixtures == {"model": {"m.sample"}}


RECORD = {
    calls.EVERYWHERE: ["everywhere"], "unwatched": ["constant"],
    "fixtures": {"model": ["built"], "other": []},
    "checks": {
        "test_a.py::first": {"calls": [], "fixtures": []},
        "test_a.py::caller": {"calls": ["f"], "fixtures": []},
        "test_a.py::later": {"calls": [], "fixtures": []},  # may reuse the caller's program
        "test_b.py::first": {"calls": [], "fixtures": ["other"]},
        "test_b.py::user": {"calls": [], "fixtures": ["model"]},
        "test_c.py::alone": {"calls": [], "fixtures": []},
    },
}


def test_selection_keeps_every_check_that_can_see_the_mutant():
    assert calls.selected(RECORD, ["f"]) == ["test_a.py::caller", "test_a.py::later"]
    assert calls.selected(RECORD, ["built"]) == ["test_b.py::user"]
    assert calls.selected(RECORD, ["f", "built"]) == ["test_a.py::caller", "test_a.py::later",
                                                      "test_b.py::user"]
    assert calls.selected(RECORD, ["never"]) == []
    assert calls.selected(RECORD, ["everywhere"]) is None
    assert calls.selected(RECORD, ["constant", "f"]) is None
