"""Which parameters each loss of an update sees, over consecutive updates.

The official agent computes every loss term of an update in one program from one set of
parameters, those before the update (`Agent.train`: one `self.opt(self.loss, ...)`, then the
slow critic), so the loss means update k reports are the losses of the parameters update k - 1
left. A target that reports other values computed them from other parameters, and which ones
says what the order is: each term is matched against the losses of a few parameter sets built
from the updates' own results,
- "before": the parameters before the update (the official order);
- "world model first": the world model's modules after the update, the rest before it (the
  world model took its step on this batch first and imagination ran on the updated one:
  DreamerV1/V2's sequential updates, another learning rule, [CRITDIFF]);
- "slow critic first": the untrained parameters (the slow critic) after the update, the rest
  before it (the slow critic mixed before the losses were taken: an order mistake, [BUG]);
- "one update stale" (from the second update on): the parameters before the previous update
  (a program that closed over old parameters or a copy refreshed late: [BUG]).
The policy loss is left out: its advantages are divided by the return normaliser's state,
which the updates carry and a loss computed alone from parameters does not.

TOLERANCE = 1e-4 relative per term mean. Measured on Intel Xeon (reimpl, parity preset, 4x10
batch): the means an update reports and the same terms computed alone from the same parameters
differ by at most 1.6e-7 (two compiled programs, reassociated float32 sums); one update at the
full learning rate moves the means by 5e-4 to 1e-2 (world model first: value 9.5e-3, repval
2e-3; one update stale: 5e-3). The official side's own spread is measured in the same run and
raises the tolerance to 10 times it if it is larger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import jax

TOLERANCE = 1e-4
LEFT_OUT = ("policy",)
WORLD_MODEL = ("enc", "dyn", "dec", "rew", "con")
HYPOTHESES = {  # name: (what it says, tag)
    "before": ("the parameters before the update, as the official", ""),
    "world model first": ("the world model already updated on this batch (its modules after "
                          "the update, the rest before it): the world model steps first and "
                          "imagination runs on the updated one, where the official computes "
                          "every loss from the parameters before the update", "CRITDIFF"),
    "slow critic first": ("the slow critic already mixed (its parameters after the update, "
                          "the rest before it), where the official mixes it after the "
                          "optimizer step", "BUG"),
    "one update stale": ("the parameters before the previous update, one update stale", "BUG"),
}


def relative(reported: float, computed: float) -> float:
    return abs(reported - computed) / max(abs(computed), 1e-6)


def parameter_sets(history: list, k: int, group_of: Callable[[str], str | None]) -> dict:
    """The candidate parameter sets for update k (0-based) of `history` (history[0] the start,
    history[k + 1] after update k, each the target's own pytree), as {hypothesis: params}."""
    before, after = history[k], history[k + 1]

    def mixed(taken: Callable[[str | None], bool]):
        return jax.tree_util.tree_map_with_path(
            lambda path, old, new: new if taken(group_of(jax.tree_util.keystr(path))) else old,
            before, after)

    sets = {"before": before,
            "world model first": mixed(lambda group: group in WORLD_MODEL),
            "slow critic first": mixed(lambda group: group is None)}
    if k:
        sets["one update stale"] = history[k - 1]
    return sets


def matches(reported: Mapping[str, float], computed: Mapping[str, Mapping[str, float]],
            tolerance: float) -> dict[str, str | None]:
    """{term: the first hypothesis whose losses the reported mean matches, or None}."""
    return {term: next((name for name, losses in computed.items()
                        if relative(value, losses[term]) <= tolerance), None)
            for term, value in reported.items()}


def verdict(found: list[dict[str, str | None]], reported: list[Mapping[str, float]],
            computed: list[Mapping[str, Mapping[str, float]]]) -> tuple[str, str]:
    """(tag, detail) over the updates, detail '' when every term of every update is the loss
    of the parameters before it."""
    parts, tags = [], []
    for k, terms in enumerate(found):
        by_hypothesis: dict[str | None, list[str]] = {}
        for term, name in terms.items():
            if name != "before":
                by_hypothesis.setdefault(name, []).append(term)
        for name, names in by_hypothesis.items():
            if name is None:
                worst = max(names, key=lambda t: relative(reported[k][t],
                                                          computed[k]["before"][t]))
                parts.append(
                    f"update {k + 1}: {', '.join(names)} match the losses of none of "
                    f"{', '.join(computed[k])} (worst {worst}: "
                    f"{relative(reported[k][worst], computed[k]['before'][worst]):.1e} from the "
                    f"parameters before the update)")
                tags.append("CRITDIFF")
            else:
                text, tag = HYPOTHESES[name]
                parts.append(f"update {k + 1}: {', '.join(names)} are the losses of {text}")
                tags.append(tag)
    tag = "BUG" if "BUG" in tags else "CRITDIFF"
    return (tag, "; ".join(parts)) if parts else ("CRITDIFF", "")
