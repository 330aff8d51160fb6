"""Several independent departures in different stages: one first-cause group each, with its
tag (issue 24 item 5). The reimpl, wrapped through its architecture-free pieces, with four
catalogue mistakes planted at once, each in another stage of the official computation:
- the imagined return (lam 0.9 written into the loss call: [CONFIG], explained),
- the advantage (centred after normalisation: [CRITDIFF]),
- the replay weight (is_last read one step late: [BUG], its time-index probe the first cause
  and the weight's value row following from it),
- the world model's continuation term (target without the horizon factor: [DIFF]).
Each must be the first cause of its own group in the report, with its own tag; and fixing the
advantage while the return before it still departs turns the advantage from a first cause into
a row that follows from the return."""

from __future__ import annotations

from parity_tests import report
from parity_tests.findings import Record
from target_runs import run_against

PLANTED = {  # mutant: {each check where it enters: its tag}
    "imagination-lambda-in-code": {"outputs/imag/ret": "CONFIG"},
    "advantages-centred": {"outputs/imag/adv": "CRITDIFF"},
    # a time index is named by its probe, and the value row follows from it
    "replay-weight-from-the-previous-step": {"time_index/repl/is_last->weight": "BUG"},
    # a term computed from the outputs alone has no earlier quantity for its gradient to
    # follow from: the departure enters the term and its gradient together
    "continuation-without-horizon": {"outputs/world_model/con": "DIFF",
                                     "outputs/world_model/grad/con/con_logit": "DIFF"},
}
CHECKS = ["parity_tests/test_actor_critic_outputs.py", "parity_tests/test_world_model_outputs.py",
          "parity_tests/test_time_index.py", "-k",
          "test_actor_critic_quantity or test_world_model_term or test_time_index"]
TARGET = '''
from parity_tests.mutants.catalogue import MUTANTS
from parity_tests.targets import reimpl_outputs_target

for name in {planted!r}:
    MUTANTS[name].plant(lambda owner, attribute, value: setattr(owner, attribute, value))


def make_target():
    return reimpl_outputs_target.make_target()
'''


def _groups(rows: dict) -> dict[str, list[str]]:
    records = [Record(r["check"], r["tag"], "", "", r["status"], None, None,
                      tuple(r["follows"])) for r in rows.values()]
    return report.first_causes(records)


def _expected(planted) -> dict[str, str]:
    return {check: tag for name in planted for check, tag in PLANTED[name].items()}


def _first_causes(rows: dict) -> dict[str, str]:
    """{check: tag} of the rows that differ on their own."""
    return {c: r["tag"] for c, r in rows.items() if r["status"] == "differs"}


def test_each_departure_is_its_own_first_cause_with_its_tag(tmp_path):
    run, rows = run_against(tmp_path, "staged_target",
                            TARGET.format(planted=sorted(PLANTED)), "make_target", CHECKS)
    assert rows, run.stdout[-3000:] + run.stderr[-3000:]
    assert _first_causes(rows) == _expected(PLANTED), _first_causes(rows)
    groups = _groups(rows)
    assert "outputs/imag/adv" in groups and "outputs/imag/ret" in groups, groups
    assert "outputs/imag/policy" in groups["outputs/imag/adv"]
    assert "outputs/imag/adv" not in groups["outputs/imag/ret"]
    assert "explained: imag_loss.lam 0.9" in rows["outputs/imag/ret"]["summary"]
    assert "is_last 1 step(s) late" in rows["time_index/repl/is_last->weight"]["summary"]
    assert "outputs/repl/weight" in groups["time_index/repl/is_last->weight"], groups

    fixed = {k: v for k, v in PLANTED.items() if k != "advantages-centred"}
    run, rows = run_against(tmp_path, "staged_target_fixed",
                            TARGET.format(planted=sorted(fixed)), "make_target", CHECKS)
    assert _first_causes(rows) == _expected(fixed), _first_causes(rows)
    assert rows["outputs/imag/adv"]["status"] == "follows", rows["outputs/imag/adv"]
    assert "outputs/imag/adv" in _groups(rows)["outputs/imag/ret"]
