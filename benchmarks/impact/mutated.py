"""The reimpl with one catalogue mutant planted, as a reimpl.train learner:
`--learner benchmarks.impact.mutated:<mutant name>` (e.g. `...mutated:kl-mean`).

The factory plants the mutant into the reimpl's modules when it first builds, as the parity
suite's `--mutant` does, so the checkpoint's config names the mistake and a resumed run or an
evaluation of the checkpoint builds the same mutated agent. A planted mutant stays for the
process: one mutant per process (benchmarks.impact runs each run in its own).
"""

from __future__ import annotations

from parity_tests.mutants.catalogue import MUTANTS
from reimpl.train.learner import reimpl_learner

_planted: list[str] = []  # the mutant this process carries, once planted


def plant(name: str) -> None:
    """Plant mutant `name` into this process's reimpl (again: nothing; another: ValueError)."""
    if _planted and _planted[0] != name:
        raise ValueError(f"this process already carries mutant {_planted[0]!r}; run {name!r} "
                         "in a process of its own")
    if not _planted:
        MUTANTS[name].plant(setattr)
        _planted.append(name)


def __getattr__(name: str):
    """The learner factory of mutant `name`; AttributeError for a name not in the catalogue."""
    if name not in MUTANTS:
        raise AttributeError(f"no catalogue mutant {name!r}")

    def factory(obs_space, act_space, config):
        plant(name)
        return reimpl_learner(obs_space, act_space, config)

    factory.__name__ = name
    return factory
