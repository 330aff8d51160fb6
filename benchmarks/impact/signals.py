"""The early signals of a run, read from its reimpl.train metrics.jsonl at fixed env-step
budgets, and a mutant's difference from the unmutated runs with its standard error.

A signal at budget b is the mean of the run's per-iteration values logged in the window
(b - window, b] (each iteration's value is already the mean of its updates). A difference is
paired by seed (both arms share the seed: the same initial weights, envs and replay sampling
until their behaviour parts): the mean over seeds of mutant - unmutated. Its standard error is
the larger of the spread of the paired differences over seeds (std / sqrt(seeds)) and the
noise of the window means themselves (each window's std / sqrt(its iterations), both arms),
so two seeds that happen to agree do not make a difference look certain.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

# (metric, what it measures): what moves before the return does.
SIGNALS = (
    ("loss/rew", "reward prediction error (two-hot NLL against the observed reward)"),
    ("loss/con", "continuation prediction error (against the observed episode ends)"),
    ("loss/vector", "observation reconstruction error (the symbolic observation)"),
    ("loss/dyn", "dynamics KL (prior towards the posterior, free nats applied)"),
    ("loss/rep", "representation KL (posterior towards the prior, free nats applied)"),
    ("loss/repval", "value prediction error against the returns of replayed steps"),
    ("loss/value", "value prediction error against the imagined returns"),
    ("ent/action", "policy entropy"),
    ("adv_mag", "advantage magnitude after the return normaliser (the return scale's effect)"),
    ("ret", "imagined return after the return normaliser"),
    ("episode/return", "return of the training episodes that finished"),
)


@dataclass(frozen=True)
class Window:
    mean: float
    noise: float  # standard error of the mean over the window's iterations
    count: int


def read(logdir: Path) -> list[dict]:
    path = Path(logdir) / "metrics.jsonl"
    if not path.is_file():
        return []
    lines = []
    for line in path.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by a crash
            continue
    return lines


def window(lines: list[dict], metric: str, budget: int, width: int) -> Window | None:
    """The metric's window mean at `budget`, or None if the run logged none of it there."""
    values = [line[metric] for line in lines
              if budget - width < line["env_steps"] <= budget and metric in line
              and math.isfinite(line[metric])]
    if not values:
        return None
    noise = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return Window(statistics.fmean(values), noise, len(values))


@dataclass(frozen=True)
class Difference:
    baseline: float  # the unmutated runs' mean
    delta: float  # mean over seeds of mutant - unmutated
    se: float
    seeds: int

    @property
    def seen(self) -> bool:
        """Beyond 2 standard errors: a change seen at this budget."""
        return abs(self.delta) > 2 * self.se

    @property
    def relative(self) -> float:
        return self.delta / abs(self.baseline) if self.baseline else math.inf


def paired(mutant: dict[int, Window], baseline: dict[int, Window]) -> Difference | None:
    """The difference over the seeds both arms have ({seed: window}); None without any."""
    seeds = sorted(set(mutant) & set(baseline))
    if not seeds:
        return None
    deltas = [mutant[s].mean - baseline[s].mean for s in seeds]
    spread = statistics.stdev(deltas) / math.sqrt(len(seeds)) if len(seeds) > 1 else math.inf
    noise = math.sqrt(sum(mutant[s].noise ** 2 + baseline[s].noise ** 2
                          for s in seeds)) / len(seeds)
    return Difference(statistics.fmean(baseline[s].mean for s in seeds),
                      statistics.fmean(deltas), max(spread, noise), len(seeds))
