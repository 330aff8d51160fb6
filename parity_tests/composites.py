"""Losses on shared weights are composites: each is the loss arithmetic applied to the network
outputs of a rollout, and the suite checks every part on its own. When a composite differs and
one of its parts differs too, the composite's difference is that part's: it follows from it.

A weight-level loss (world_model/loss/<term>, agent/loss/<term>, vector_obs/loss/<term> and
their parameter gradients) is made of
- the loss arithmetic on network outputs: the output-level check of the same term
  (outputs/world_model/<term>, outputs/imag/policy, ...) and its output gradients;
- the networks that compute those outputs, module by module on the official weights
  (networks/<module>: the encoder and decoder for the image terms, the RSSM, the heads the
  term reads);
- the wiring of the rollout between them: the time-index probes of the posterior rollout
  (time_index/observe/<input>-><part>, the stored carry) and, for a gradient, the gradient-flow
  probes of the term (gradient_flow/params/<term>, latents/straight-through).
An output-level quantity (outputs/<part>/<quantity>) is likewise read at the time indices its
probes test (time_index/<part>/<input>-><quantity>): when a probe finds an input read at another
step with a definite tag, the quantity's value row follows from the probe, and the group is the
probe's (a time index, [BUG]), not the value row's.

This is a deduction, not a recomputation (parity_tests/stages.py recomputes within a level): a
composite with one differing part cannot tell a second, unchecked departure apart, so it names
the part where the fix belongs; once that is fixed the composite is judged again and is a first
cause of its own if anything remains. The parts run first (`parts_first`), so a composite finds
their verdicts recorded.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

# The order files run in (a file not named here runs first): the output-level quantities after
# the probes of their time indices, the weight-level composites after everything they are made of.
RUN_ORDER = (("test_actor_critic_outputs.py", "test_world_model_outputs.py"),
             ("test_agent.py", "test_gradients.py", "test_vector_obs.py", "test_world_model.py"))
RSSM = ("networks/enc", "networks/dyn/core", "networks/dyn/prior", "networks/dyn/posterior")
# The head modules each term reads, besides the RSSM.
HEADS = {"image": ("networks/dec/image",), "rew": ("networks/rew",), "con": ("networks/con",),
         "dyn": (), "rep": (),
         "policy": ("networks/pol/action", "networks/val", "networks/rew", "networks/con"),
         "value": ("networks/val", "networks/rew", "networks/con"),
         "repval": ("networks/val", "networks/pol/action", "networks/rew", "networks/con")}
# Where each term's output-level check lives and which rollout its wiring probes name.
OUTPUT_PART = {"image": "world_model", "rew": "world_model", "con": "world_model",
               "dyn": "world_model", "rep": "world_model", "policy": "imag", "value": "imag",
               "repval": "repl"}
ROLLOUT = {"world_model": "world_model", "imag": "imagination", "repl": "replay"}
# A vector-observation agent has its own encoder and decoder (no networks/ check covers them).
VECTOR_OWN = ("networks/enc", "networks/dec/image")
INDEPENDENT_TAGS = ("TOCHECK",)  # a probe verdict that says "look here", not what differs
FAILED = ("differs", "known", "follows")


def _composite(check: str) -> tuple[str, str, bool] | None:
    """(term, kind, is a gradient) of a weight-level composite check, else None."""
    area, _, rest = check.partition("/")
    if area in ("world_model", "agent", "vector_obs") and rest.startswith("loss/"):
        return rest.removeprefix("loss/"), area, False
    if area == "gradients" and rest.count("/") == 1:
        kind, term = rest.split("/")
        return term, kind, True
    return None


def patterns(check: str) -> tuple[str, ...]:
    """The checks (fnmatch patterns) of the parts `check` is made of; () if it is no
    composite the suite knows."""
    area, _, rest = check.partition("/")
    if area == "outputs":
        part, _, quantity = rest.partition("/")
        if quantity.startswith("grad/"):  # grad/<loss>/<output>
            quantity = quantity.split("/")[1]
        return (f"time_index/{part}/*->{quantity}",)
    found = _composite(check)
    if found is None:
        return ()
    term, kind, gradient = found
    if term == "vector":  # the vector decoder's loss: its own decoder, no output-level twin
        return (*(n for n in RSSM if n not in VECTOR_OWN), "time_index/observe/*->world_model",
                "time_index/observe/carry->world_model")
    if term not in OUTPUT_PART:
        return ()
    part = OUTPUT_PART[term]
    networks = [n for n in (*RSSM, *HEADS[term])
                if not (kind == "vector_obs" and n in VECTOR_OWN)]
    found = [f"outputs/{part}/{term}", f"outputs/{part}/grad/{term}/*", *networks,
             f"time_index/observe/*->{ROLLOUT[part]}"]
    if part == "world_model":
        found.append("time_index/observe/carry->world_model")
    if gradient:
        found += [f"gradient_flow/params/{term}", "latents/straight-through"]
    return tuple(found)


def parts_that_differ(by_check: dict, check: str) -> tuple[str, ...]:
    """The recorded checks of `check`'s parts that differ (a probe's [TOCHECK] aside: it
    names no departure)."""
    wanted = patterns(check)
    return tuple(sorted(
        name for name, record in by_check.items()
        if name != check and record.status in FAILED and record.tag not in INDEPENDENT_TAGS
        and any(fnmatch.fnmatchcase(name, p) for p in wanted)))


def parts_first(items: list) -> list:
    """The collected tests in RUN_ORDER (a stable sort: every file keeps its tests' order and
    stays in one piece, so module fixtures are built once)."""
    def rank(item) -> int:
        path = Path(str(item.fspath))
        if path.parent.name != "parity_tests":
            return 0
        return next((n for n, files in enumerate(RUN_ORDER, 1) if path.name in files), 0)

    return sorted(items, key=rank)
