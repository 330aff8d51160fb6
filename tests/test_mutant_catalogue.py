"""The mutant machinery without running the suite: the catalogue still fits the reimpl, and
the diagnosis picks the most specific failing checks."""

from __future__ import annotations

import pytest

from parity_tests import report
from parity_tests.findings import TAGS
from parity_tests.mutants.catalogue import MUTANTS
from parity_tests.mutants.diagnosis import diagnose, level


@pytest.mark.parametrize("name", sorted(MUTANTS), ids=sorted(MUTANTS))
def test_every_mutant_replaces_existing_attributes(name):
    """A rename in reimpl must break the mutant loudly, not make it a silent no-op."""
    replaced = []

    def patch(owner, attribute, value):
        assert hasattr(owner, attribute), f"{owner} has no {attribute!r}"
        assert getattr(owner, attribute) is not value
        replaced.append(attribute)

    MUTANTS[name].plant(patch)
    assert replaced
    assert MUTANTS[name].tag in TAGS


def _row(check, tag, status="differs"):
    return {"check": check, "tag": tag, "status": status}


def test_diagnosis_takes_the_most_specific_failing_checks():
    rows = [_row("agent/train_step/variables", "DIFF"), _row("world_model/loss/dyn", "CRITDIFF"),
            _row("latents/kl/values", "CRITDIFF"), _row("twohot/bins/255", "DIFF", "agree")]
    diagnosis = diagnose(rows)
    assert diagnosis.tag == "CRITDIFF"
    assert diagnosis.deciding == ("latents/kl/values",)
    assert diagnosis.caught_by[0] == "latents/kl/values" and len(diagnosis.caught_by) == 3


def test_diagnosis_prefers_the_most_severe_tag_within_a_level():
    diagnosis = diagnose([_row("twohot/bins/255", "DIFF"), _row("twohot/finite", "BUG")])
    assert diagnosis.tag == "BUG" and diagnosis.deciding == ("twohot/finite",)


def test_a_tocheck_decides_only_when_no_definite_tag_failed():
    """A time-index probe's "pattern differs" is a pointer, not a kind of mistake: a value check
    that failed with a definite tag, even a less specific one, names the mutant's kind."""
    rows = [_row("time_index/imag/con->weight", "TOCHECK"), _row("outputs/imag/weight", "CRITDIFF"),
            _row("agent/train_step/update", "DIFF")]
    diagnosis = diagnose(rows)
    assert diagnosis.tag == "CRITDIFF" and diagnosis.deciding == ("outputs/imag/weight",)
    assert "time_index/imag/con->weight" in diagnosis.caught_by
    alone = diagnose([_row("time_index/imag/con->weight", "TOCHECK"),
                      _row("agent/train_step/update", "TOCHECK")])
    assert alone.tag == "TOCHECK" and alone.deciding == ("time_index/imag/con->weight",)


def test_diagnosis_ignores_registered_baseline_failures_and_reports_survivors():
    rows = [_row("schedule/updates/fractional", "CONFIG", "known")]
    assert diagnose(rows, frozenset({"schedule/updates/fractional"})).tag is None
    assert diagnose(rows).tag == "CONFIG"


def test_every_check_area_has_a_level():
    with pytest.raises(KeyError):
        level("unknown/check")
    assert level("agent/loss/policy") == 1 and level("agent/train_step/variables") == 2


def test_report_keeps_each_mutant_section_apart():
    first, second = report.MUTANT_SECTIONS[:2]
    section = "{}\ntable\n{}".format(*report.markers(first))
    other = "{}\nother\n{}".format(*report.markers(second))
    text = report.with_section(report.with_section("# PARITY\n", section, first), other, second)
    assert report.section_of(text, first) == section
    assert report.section_of(text, second) == other
    replaced = report.with_section(text, section.replace("table", "new"), first)
    assert "new" in replaced and "table" not in replaced and "other" in replaced
