"""From one run's findings to a verdict on a mutant: which checks caught it and with what tag.

Several checks usually fail together: a wrong KL shows in the KL piece, in the world-model
loss, in its gradients and in the train step. The most specific failing checks locate the
cause, so the mutant earns their tag (the most severe one, if they disagree); the composite
checks (gradients, the train step) decide only when nothing more specific failed.

A [TOCHECK] says "look here", not what the mistake is (a time-index probe whose pattern
differs, say): it decides only when no check with a definite tag failed, at any level.

Only value differences catch: a check that failed on structure (a shape, a missing key, NaN
positions, inf values) says the mutant broke the program, not that the suite measured the
mistake, so a mutant seen only by such checks is "crashed/shape only". A run whose pytest
exits with an error (not 0 or 1) is a "suite error", one that ran out of time "timed out".
"""

from __future__ import annotations

from dataclasses import dataclass

# Check areas by how much of the agent they cover: lower is more specific.
LEVELS = {
    "returns": 0, "twohot": 0, "latents": 0, "policy": 0, "keys": 0, "replay": 0,
    "schedule": 0, "config": 0, "outputs": 0, "update_rules": 0, "gradient_flow": 0,
    "time_index": 0, "update_order": 0, "networks": 0,
    "world_model": 1, "agent/loss": 1, "policy/rollout": 1, "agent/slow_critic": 1, "vector_obs": 1,
    "gradients": 2, "agent/train_step": 2, "size": 2,
    # Many updates: decides only when no single update differs (an accumulation).
    "multistep": 3,
}
SEVERITY = ("BUG", "CRITDIFF", "DIFF", "CONFIG", "MINOR", "TOCHECK")
FAILED = ("differs", "known")
CAUGHT = "caught"  # every other verdict fails the mutant run


def level(check: str) -> int:
    for prefix in sorted(LEVELS, key=len, reverse=True):
        if check == prefix or check.startswith(prefix + "/"):
            return LEVELS[prefix]
    raise KeyError(f"check {check!r} has no level in parity_tests/mutants/diagnosis.py LEVELS")


@dataclass(frozen=True)
class Diagnosis:
    caught_by: tuple[str, ...]  # every check that failed on values, most specific first
    tag: str | None  # None: no check failed on values
    deciding: tuple[str, ...]  # the checks whose tag decided
    structural: tuple[str, ...] = ()  # checks that failed on structure only (not catches)

    def verdict(self, expected_tag: str) -> str:
        if self.tag is None:
            return "crashed/shape only" if self.structural else "survived"
        return CAUGHT if self.tag == expected_tag else "wrong tag"


NOTHING = Diagnosis((), None, ())


def diagnose(records: list[dict], baseline_failures: frozenset[str] = frozenset()) -> Diagnosis:
    """records: findings JSON rows of a run against the mutant. Checks that also fail without
    any mutant (registered differences of the reimpl) are not evidence."""
    failing = sorted((r for r in records if r["status"] in FAILED
                      and r["check"] not in baseline_failures),
                     key=lambda r: (level(r["check"]), SEVERITY.index(r["tag"]), r["check"]))
    structural = tuple(r["check"] for r in failing if r.get("structural", False))
    failing = [r for r in failing if not r.get("structural", False)]
    if not failing:
        return Diagnosis((), None, (), structural)
    definite = [r for r in failing if r["tag"] != "TOCHECK"] or failing
    best = level(definite[0]["check"])
    deciding = [r for r in definite if level(r["check"]) == best]
    tag = deciding[0]["tag"]  # sorted by severity within the level
    return Diagnosis(tuple(r["check"] for r in failing), tag,
                     tuple(r["check"] for r in deciding if r["tag"] == tag), structural)


def judge(records: list[dict] | None, exit_code: int | None, expected_tag: str,
          baseline_failures: frozenset[str] = frozenset()) -> tuple[str, Diagnosis]:
    """The verdict on one mutant run. exit_code: pytest's (0 passed, 1 tests failed, anything
    else an error such as a collection error); None when the run timed out. records: None
    when the run wrote no findings."""
    if exit_code is None:
        return "timed out", NOTHING
    if exit_code not in (0, 1) or records is None:
        return "suite error", NOTHING
    diagnosis = diagnose(records, baseline_failures)
    return diagnosis.verdict(expected_tag), diagnosis


def baseline_problems(records: list[dict] | None, exit_code: int | None) -> list[str]:
    """Why the unmutated suite is red (empty when it is green): a difference that is not
    registered, a registered one that vanished, no findings, a timeout or a non-zero pytest
    exit code. A mutant run against a red suite would be credited with its failures."""
    problems = [f"{r['check']}: {r['status']}" for r in records or []
                if r["status"] in ("differs", "vanished")]
    if records is None and exit_code is not None:
        problems.append("pytest wrote no findings")
    if exit_code is None:
        problems.append("pytest timed out (raise --timeout)")
    elif exit_code != 0:
        problems.append(f"pytest exited with code {exit_code}")
    return problems
