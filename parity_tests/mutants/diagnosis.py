"""From one run's findings to a verdict on a mutant: which checks caught it and with what tag.

Several checks usually fail together: a wrong KL shows in the KL piece, in the world-model
loss, in its gradients and in the train step. The most specific failing checks locate the
cause, so the mutant earns their tag (the most severe one, if they disagree); the composite
checks (gradients, the train step) decide only when nothing more specific failed.
"""

from __future__ import annotations

from dataclasses import dataclass

# Check areas by how much of the agent they cover: lower is more specific.
LEVELS = {
    "returns": 0, "twohot": 0, "latents": 0, "policy": 0, "keys": 0, "replay": 0,
    "schedule": 0, "config": 0,
    "world_model": 1, "agent/loss": 1, "policy/rollout": 1, "agent/slow_critic": 1, "vector_obs": 1,
    "gradients": 2, "agent/train_step": 2,
}
SEVERITY = ("BUG", "CRITDIFF", "DIFF", "CONFIG", "MINOR", "TOCHECK")
FAILED = ("differs", "known")


def level(check: str) -> int:
    for prefix in sorted(LEVELS, key=len, reverse=True):
        if check == prefix or check.startswith(prefix + "/"):
            return LEVELS[prefix]
    raise KeyError(f"check {check!r} has no level in parity_tests/mutants/diagnosis.py LEVELS")


@dataclass(frozen=True)
class Diagnosis:
    caught_by: tuple[str, ...]  # every failing check, most specific first
    tag: str | None  # None: no check failed (the mutant survived)
    deciding: tuple[str, ...]  # the checks whose tag decided


def diagnose(records: list[dict], baseline_failures: frozenset[str] = frozenset()) -> Diagnosis:
    """records: findings JSON rows of a run against the mutant. Checks that also fail without
    any mutant (registered differences of the reimpl) are not evidence."""
    failing = sorted((r for r in records if r["status"] in FAILED
                      and r["check"] not in baseline_failures),
                     key=lambda r: (level(r["check"]), SEVERITY.index(r["tag"]), r["check"]))
    if not failing:
        return Diagnosis((), None, ())
    best = level(failing[0]["check"])
    deciding = [r for r in failing if level(r["check"]) == best]
    tag = deciding[0]["tag"]  # sorted by severity within the level
    return Diagnosis(tuple(r["check"] for r in failing), tag,
                     tuple(r["check"] for r in deciding if r["tag"] == tag))
