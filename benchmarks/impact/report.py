"""IMPACT.md from the runs of an impact comparison: a table per mutant (each early signal and
the evaluated return as a difference from the unmutated runs, with its standard error, at each
budget) and a summary line per mutant saying what changed at this budget.

A difference beyond 2 standard errors is "changed"; within them it is "not seen at this
budget", never "no effect". A signal the mutant itself redefines (its own loss of another
scale, say) is marked so: its difference is the new definition, not a change in learning.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from parity_tests.mutants.catalogue import MUTANTS

from ..report import section
from . import signals as signals_lib
from .signals import Difference, Window

# Logged quantities a mutant computes by a definition of its own: their difference is the
# definition (e.g. KL averaged over the latents is 1/32 of the sum), not a change in learning.
REDEFINES = {
    "kl-mean": ("loss/dyn", "loss/rep"),
    "unweighted-actor-critic": ("loss/value",),
    "slow-critic-targets": ("loss/value", "loss/repval"),
    "advantages-centred": ("adv_mag",),
}

# runs: {arm: {seed: {"lines": metrics lines, "evaluation": dict or None}}}; arm "unmutated"
# or a mutant name.
Runs = dict[str, dict[int, dict[str, Any]]]
BASELINE = "unmutated"


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def _percent(relative: float) -> str:
    """A relative change as a percentage, with two significant digits below 1% (a change of
    -0.03% beyond its standard error must not read -0%)."""
    percent = 100 * relative
    if percent == 0 or abs(percent) >= 1:
        return f"{percent:+.0f}%"
    return f"{percent:+.2g}%"


def _cell(diff: Difference | None, redefined: bool) -> str:
    if diff is None:
        return "–"
    rel = f" ({_percent(diff.relative)})" if math.isfinite(diff.relative) else ""
    text = f"{diff.delta:+.3g} ± {_fmt(diff.se)}{rel}"
    if redefined:
        return f"{text} (own definition)"
    return f"**{text}**" if diff.seen else text


def _windows(runs: dict[int, dict[str, Any]], metric: str, budget: int,
             width: int) -> dict[int, Window]:
    windows = {seed: signals_lib.window(run["lines"], metric, budget, width)
               for seed, run in runs.items()}
    return {seed: w for seed, w in windows.items() if w is not None}


def _evaluation_windows(runs: dict[int, dict[str, Any]], env_steps: int,
                        quantity: str) -> dict[int, Window]:
    """{seed: Window} of an evaluated quantity: `return` or `achievement:<name>`."""
    out = {}
    for seed, run in runs.items():
        evaluated = run["evaluation"]
        if evaluated is None or evaluated["env_steps"] != env_steps:
            continue
        n = evaluated["episodes"]
        if quantity == "return":
            out[seed] = Window(evaluated["return_mean"], evaluated["return_std"] / math.sqrt(n), n)
        else:
            p = evaluated["achievements"][quantity.removeprefix("achievement:")]
            out[seed] = Window(p, math.sqrt(max(p * (1 - p), 1 / n) / n), n)
    return out


def differences(runs: Runs, mutant: str, budgets: list[int], width: int
                ) -> dict[str, dict[int, Difference | None]]:
    """{signal: {budget: Difference}} of `mutant` against the unmutated runs."""
    return {metric: {b: signals_lib.paired(_windows(runs[mutant], metric, b, width),
                                           _windows(runs[BASELINE], metric, b, width))
                     for b in budgets} for metric, _ in signals_lib.SIGNALS}


def evaluated_differences(runs: Runs, mutant: str, env_steps: int) -> dict[str, Difference]:
    """The evaluated return and each achievement's rate, where both arms were evaluated."""
    names = sorted({name for run in runs[BASELINE].values() if run["evaluation"]
                    for name in run["evaluation"]["achievements"]})
    out = {}
    for quantity in ["return", *(f"achievement:{n}" for n in names)]:
        diff = signals_lib.paired(_evaluation_windows(runs[mutant], env_steps, quantity),
                                  _evaluation_windows(runs[BASELINE], env_steps, quantity))
        if diff is not None:
            out[quantity] = diff
    return out


def _change(diff: Difference) -> str:
    return _percent(diff.relative) if math.isfinite(diff.relative) else f"{diff.delta:+.3g}"


def summary(runs: Runs, mutant: str, budgets: list[int], width: int, env_steps: int) -> str:
    """One line: each signal that changed beyond 2 standard errors at some budget (its change
    at the first and the last such budget), and each evaluated quantity that did."""
    redefined = REDEFINES.get(mutant, ())
    diffs = differences(runs, mutant, budgets, width)
    reached = [b for b in budgets if any(d[b] is not None for d in diffs.values())]
    if not reached:
        return "not run yet"
    changed = []
    for metric, by_budget in diffs.items():
        seen = [b for b in reached if by_budget[b] is not None and by_budget[b].seen]
        if metric in redefined or not seen:
            continue
        ends = [seen[0]] if len(seen) == 1 else [seen[0], seen[-1]]
        changed.append(f"{metric} " + " to ".join(
            f"{_change(by_budget[b])} at {b}" for b in ends))
    evaluated = evaluated_differences(runs, mutant, env_steps)
    changed += [f"evaluated {q.removeprefix('achievement:')} {d.delta:+.2f}"
                for q, d in evaluated.items() if d.seen]
    if not changed:
        return (f"not seen at this budget (up to {reached[-1]} env steps: every signal within "
                "2 standard errors)")
    return "changed: " + ", ".join(changed)


def table(runs: Runs, mutant: str, budgets: list[int], width: int, env_steps: int) -> list[str]:
    redefined = REDEFINES.get(mutant, ())
    diffs = differences(runs, mutant, budgets, width)
    head = ["signal", "unmutated", *(f"Δ at {b}" for b in budgets)]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for metric, meaning in signals_lib.SIGNALS:
        last = next((d for d in reversed(list(diffs[metric].values())) if d is not None), None)
        base = _fmt(last.baseline) if last else "–"
        cells = [_cell(diffs[metric][b], metric in redefined) for b in budgets]
        rows.append(f"| `{metric}` {meaning} | {base} | " + " | ".join(cells) + " |")
    evaluated = evaluated_differences(runs, mutant, env_steps)
    shown = {q: d for q, d in evaluated.items() if q == "return" or d.seen}
    for quantity, diff in shown.items():
        name = ("evaluated return" if quantity == "return"
                else f"evaluated rate of {quantity.removeprefix('achievement:')}")
        blanks = ["" for _ in budgets[:-1]]
        rows.append(f"| {name} | {_fmt(diff.baseline)} | " + " | ".join(
            [*blanks, _cell(diff, False)]) + " |")
    return rows


def write(path: Path, runs: Runs, budgets: list[int], width: int, env_steps: int,
          settings: list[str], command: str) -> None:
    """IMPACT.md, keeping a `verdict` section written by hand (see benchmarks.report)."""
    old = path.read_text() if path.is_file() else ""
    verdict = section(old, "verdict")
    mutants = [arm for arm in runs if arm != BASELINE]
    lines = [
        "# Impact: what each planted departure does to learning",
        "",
        f"Generated by `{command}`. The reimpl trains in `reimpl.train`'s compiled loop with one "
        "catalogue mutant planted (`--learner benchmarks.impact.mutated:<mutant>`; "
        "parity_tests/mutants/catalogue.py) and without (`unmutated`), with the same seeds, "
        "envs, replay sampling and evaluation episodes as `benchmarks.learning`; the agent "
        "code is the only difference.",
        "",
        "Settings:",
        "",
        *(f"- {s}" for s in settings),
        "",
        "How to read it: Δ is mutant − unmutated, the mean over seeds of the paired difference "
        f"(the same seed in both arms), of each signal's mean over the {width} env steps "
        "before the budget; ± one standard error, the larger of the spread over seeds and the "
        "noise of the window means. **Bold**: beyond 2 standard errors, changed at this "
        "budget; otherwise not seen at this budget (which is not \"no effect\"). \"own "
        "definition\": a quantity the mutant computes another way, so its Δ is the definition "
        "and not a change in learning. Evaluated rows: the final checkpoint on the evaluation "
        "episodes (return, and each achievement whose rate changed beyond 2 standard errors).",
        "",
    ]
    if verdict:
        lines += [verdict, ""]
    lines += ["## Summary", "", "| mutant | at this budget |", "|---|---|"]
    lines += [f"| `{m}` | {summary(runs, m, budgets, width, env_steps)} |" for m in mutants]
    for mutant in mutants:
        planted = MUTANTS[mutant]
        lines += ["", f"## `{mutant}`", "", f"{planted.description}; the parity suite tags it "
                  f"[{planted.tag}].", "", *table(runs, mutant, budgets, width, env_steps)]
    path.write_text("\n".join(lines) + "\n")
