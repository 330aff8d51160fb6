"""LEARNING.md and its plot from the evaluations: return against env steps for every learner
(mean over seeds, the band from the lowest to the highest seed, each seed thin) and the random
baseline (its mean, the band one standard error either side), and the table behind the plot.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display
import matplotlib.pyplot as plt  # noqa: E402

from ..report import section  # noqa: E402

# evaluations: {learner: {seed: [evaluation, ...]}}, each evaluation a reimpl.evaluate report
# plus `target` (the env steps it was trained to) and `env_steps` (where its checkpoint is).
Evaluations = dict[str, dict[int, list[dict[str, Any]]]]


def standard_error(evaluation: dict[str, Any]) -> float:
    return evaluation["return_std"] / math.sqrt(evaluation["episodes"])


def _by_target(runs: dict[int, list[dict]]) -> dict[int, dict[int, dict]]:
    """{target: {seed: evaluation}}, targets every seed has reached."""
    per_seed = {seed: {e["target"]: e for e in evaluations} for seed, evaluations in runs.items()}
    common = set.intersection(*(set(t) for t in per_seed.values())) if per_seed else set()
    return {t: {seed: per_seed[seed][t] for seed in sorted(per_seed)} for t in sorted(common)}


def plot(evaluations: Evaluations, random: dict[str, Any], path: Path, title: str) -> None:
    figure, axes = plt.subplots(figsize=(8, 4.5))
    for learner, runs in evaluations.items():
        points = _by_target(runs)
        steps = list(points)
        means = [sum(e["return_mean"] for e in p.values()) / len(p) for p in points.values()]
        low = [min(e["return_mean"] for e in p.values()) for p in points.values()]
        high = [max(e["return_mean"] for e in p.values()) for p in points.values()]
        (line,) = axes.plot(steps, means, marker="o", label=f"{learner} (mean of "
                            f"{len(runs)} seeds)")
        axes.fill_between(steps, low, high, color=line.get_color(), alpha=0.2)
        for evaluations_of_seed in runs.values():
            ordered = sorted(evaluations_of_seed, key=lambda e: e["target"])
            axes.plot([e["target"] for e in ordered], [e["return_mean"] for e in ordered],
                      color=line.get_color(), linewidth=0.6, alpha=0.5)
    se = standard_error(random)
    axes.axhline(random["return_mean"], color="black", linestyle="--", label="random policy")
    axes.axhspan(random["return_mean"] - se, random["return_mean"] + se, color="black",
                 alpha=0.08)
    axes.set_xlabel("env steps")
    axes.set_ylabel(f"return ({random['episodes']} episodes per point)")
    axes.set_title(title)
    axes.legend(loc="best")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _cell(evaluation: dict[str, Any]) -> str:
    return f"{evaluation['return_mean']:.2f} ± {standard_error(evaluation):.2f}"


def table(evaluations: Evaluations, random: dict[str, Any]) -> list[str]:
    """Markdown rows: env steps, per learner every seed's return (± standard error) and the
    mean over seeds where every seed has reached that point; the random baseline in every row."""
    per_seed = {learner: {seed: {e["target"]: e for e in evaluations_of_seed}
                          for seed, evaluations_of_seed in runs.items()}
                for learner, runs in evaluations.items()}
    targets = sorted({t for runs in per_seed.values() for found in runs.values() for t in found})
    header = ["env steps"]
    for learner, runs in per_seed.items():
        header += [f"{learner} seed {seed}" for seed in runs] + [f"{learner} mean"]
    header.append("random")
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for target in targets:
        row = [str(target)]
        for runs in per_seed.values():
            found = [runs[seed][target] for seed in runs if target in runs[seed]]
            row += [_cell(runs[seed][target]) if target in runs[seed] else "-" for seed in runs]
            row.append(f"{sum(e['return_mean'] for e in found) / len(found):.2f}"
                       if len(found) == len(runs) else "-")
        row.append(_cell(random))
        rows.append("| " + " | ".join(row) + " |")
    return rows


def against_random(evaluation: dict[str, Any], random: dict[str, Any]) -> int:
    """+1 above the random policy by more than 2 standard errors of the difference, -1 below
    by more than that, 0 within."""
    margin = evaluation["return_mean"] - random["return_mean"]
    error = math.hypot(standard_error(evaluation), standard_error(random))
    return 0 if abs(margin) <= 2 * error else int(math.copysign(1, margin))


def summary(evaluations: Evaluations, random: dict[str, Any]) -> list[str]:
    lines = []
    for learner, runs in evaluations.items():
        every = [e for evaluations_of_seed in runs.values() for e in evaluations_of_seed]
        signs = [against_random(e, random) for e in every]
        last = [max(e, key=lambda x: x["target"]) for e in runs.values() if e]
        lines.append(
            f"- **{learner}**: {len(every)} checkpoints over {len(runs)} seeds; "
            f"{signs.count(1)} above the random policy, {signs.count(-1)} below it, "
            f"{signs.count(0)} within 2 standard errors of it; last checkpoints "
            + ", ".join(f"{_cell(e)} at {e['target']} env steps" for e in last) + ".")
    return lines


VERDICT = "verdict"  # the section a person writes; a rewrite of the report keeps it


def write(path: Path, evaluations: Evaluations, random: dict[str, Any],
          settings: list[str], command: str) -> Path:
    """LEARNING.md at `path` and its plot (same name, .png); returns the plot's path. The
    verdict, what the figures answer, is written by a person between the report's verdict
    markers, and kept where it is when the figures are rewritten."""
    picture = path.with_suffix(".png")
    verdict = section(path.read_text(), VERDICT) if path.exists() else None
    plot(evaluations, random, picture, f"{random['env']}: return against env steps")
    text = [
        "# Learning parity: the reimpl and the official agent in the same loop", "",
        f"Generated by `{command}`. Every learner trains in `reimpl.train`'s compiled loop "
        "(same envs, seeds, replay and schedule; the agent code is the only difference); each "
        "checkpoint is evaluated on the same episodes (`reimpl.evaluate`'s selection, the same "
        "seed), sampling its policy.", "",
        "Settings:", "", *[f"- {line}" for line in settings], "",
        f"![return against env steps]({picture.name})", "",
        "Lines: mean over seeds; band: lowest to highest seed; thin lines: each seed. Random "
        "policy: dashed, its band one standard error either side.", "",
        *([verdict, ""] if verdict else []),
        "## Against the random policy", "", *summary(evaluations, random), "",
        "## Table", "",
        "Return ± standard error over the evaluated episodes; the mean is over seeds, once "
        "every seed has reached the point.", "",
        *table(evaluations, random), "",
    ]
    path.write_text("\n".join(text))
    return picture
