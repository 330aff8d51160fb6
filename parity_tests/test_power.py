"""The suite's own power: each agent-level check sees a change of every term it claims to cover.

A check can pass because the quantity it names cannot move it at the point it looks (the debug
preset's 5 bins made values ~1e8, where the entropy bonus was 5e-5 of the actor loss and replayed
rewards vanished under the bootstrap). So each change a check claims to cover is planted into
the OFFICIAL agent (a config override, or a changed batch), and the planted output is scored
against the unchanged one with the check's own tolerance:

    margin = max over elements of |planted - unchanged| / (atol + rtol * |unchanged|)

(rtol relative to the leaf's largest entry for per-leaf tolerances). A check sees the change
when margin > 1; the suite asks for MIN_MARGIN (10x) wherever the physics allows and states the
measured exception otherwise. The official agent is on both sides, so this measures the
checks, not any target. Margins print with -s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import numpy as np
import pytest

from parity_tests import operating_point, tolerances, updates
from reference_adapter.agent import is_trained

MIN_MARGIN = 10.0


@dataclass(frozen=True)
class Plant:
    name: str  # what is changed
    check: str  # the check that must see it
    quantity: str  # "loss:<term>", "grad:<term>", "train" or "update"
    overrides: dict = field(default_factory=dict)  # official config overrides
    batch_change: str | None = None  # a key of BATCH_CHANGES
    min_margin: float = MIN_MARGIN


def _shift_time(array):
    return np.concatenate([array[:, 1:], array[:, -1:]], 1)


BATCH_CHANGES = {
    "rewards zeroed": lambda b: {**b, "reward": np.zeros_like(b["reward"])},
    "rewards one step early": lambda b: {**b, "reward": _shift_time(b["reward"])},
    "is_terminal one step early": lambda b: {**b, "is_terminal": _shift_time(b["is_terminal"])},
}

PLANTS = [
    *[Plant(f"actent {value}", check, quantity, {"imag_loss.actent": value})
      for value in (0.0, 3e-3, -3e-4)
      for check, quantity in (("agent/loss/policy", "loss:policy"),
                              ("gradients/agent/policy", "grad:policy"))],
    Plant("imag slowreg 0", "agent/loss/value", "loss:value", {"imag_loss.slowreg": 0.0}),
    Plant("imag slowreg 0", "gradients/agent/value", "grad:value", {"imag_loss.slowreg": 0.0}),
    Plant("repl slowreg 0", "agent/loss/repval", "loss:repval", {"repl_loss.slowreg": 0.0}),
    Plant("imag lam 0.9", "agent/loss/policy", "loss:policy", {"imag_loss.lam": 0.9}),
    Plant("repl lam 0.9", "agent/loss/repval", "loss:repval", {"repl_loss.lam": 0.9}),
    Plant("horizon 100", "agent/loss/repval", "loss:repval", {"horizon": 100}),
    *[Plant(change, check, quantity, batch_change=change)
      for change in ("rewards zeroed", "rewards one step early")
      for check, quantity in (("agent/loss/repval", "loss:repval"),
                              ("world_model/loss/rew", "loss:rew"))],
    Plant("is_terminal one step early", "world_model/loss/con", "loss:con",
          batch_change="is_terminal one step early"),
    Plant("slow critic rate x2", "agent/train_step/variables", "train",
          {"slowvalue.rate": 0.04}),
    *[Plant(name, "agent/train_step/update", "update", overrides)
      for name, overrides in (("momentum beta1 0.8", {"opt.beta1": 0.8}),
                              ("second moment beta2 0.99", {"opt.beta2": 0.99}),
                              ("learning rate x1.1", {"opt.lr": 4.4e-5}),
                              ("clipping agc 0.03", {"opt.agc": 0.03}))],
    *[Plant(f"loss scale {term} x2", "agent/train_step/update", "update",
            {f"loss_scales.{term}": 2 * scale})
      for term, scale in (("rec", 1.0), ("rew", 1.0), ("dyn", 1.0), ("policy", 1.0))],
    *[Plant(f"loss scale {term} x2", "agent/train_step/variables", "train",
            {f"loss_scales.{term}": 2 * scale})
      for term, scale in (("rec", 1.0), ("rew", 1.0), ("con", 1.0), ("dyn", 1.0),
                          ("rep", 0.1), ("policy", 1.0), ("value", 1.0), ("repval", 0.3))],
]
TOLERANCE = {"loss": "forward", "grad": "gradient", "train": "gradient"}


def margin(planted, unchanged, tolerance: tolerances.Tolerance) -> float:
    worst = 0.0
    for mine, ref in zip(jax.tree.leaves(planted), jax.tree.leaves(unchanged), strict=True):
        mine, ref = np.asarray(mine, np.float64), np.asarray(ref, np.float64)
        scale = np.abs(ref).max() if tolerance.per_leaf else np.abs(ref)
        allowed = tolerance.atol + tolerance.rtol * scale
        error = np.abs(mine - ref)
        ratio = np.where(error > 0, error / np.maximum(allowed, 1e-30), 0.0)
        worst = max(worst, float(ratio.max(initial=0.0)))
    return worst


_AGENTS: dict = {}


def _agent(official_agent, obs_space, act_space, overrides: dict):
    """An official agent with `overrides` on top of the operating point (cached per process)."""
    from reference_adapter import OfficialAgent

    key = tuple(sorted(overrides.items()))
    if not key:
        return official_agent
    if key not in _AGENTS:
        agent = OfficialAgent(obs_space, act_space,
                              preset=operating_point.BASE_PRESET,
                              overrides={**operating_point.OVERRIDES, **overrides})
        agent.init(seed=0)
        _AGENTS[key] = agent
    return _AGENTS[key]


_TRAINED: dict = {}


def _trained(official_agent, variables, batch):
    """The optimizer state of a trained agent (parity_tests/updates.py), built once."""
    if "variables" not in _TRAINED:
        gradient = updates.total_gradient(official_agent, batch, variables)
        _TRAINED["variables"] = updates.trained_optimizer(variables, gradient)
    return _TRAINED["variables"]


def _quantity(agent, quantity: str, variables, batch):
    kind, _, term = quantity.partition(":")
    if kind == "loss":
        return agent.losses(batch, variables=variables).losses[term]
    if kind == "grad":
        return agent.loss_grads(batch, variables=variables)[term]
    if kind == "update":
        new, _ = agent.train_step(batch, variables=variables)
        return {k: v for k, v in new.items() if is_trained(k)}
    return agent.train_step(batch, variables=operating_point.mid_warmup(variables))[0]


# Train-step plants build and compile an official agent each (~30 s): they run with the slow
# checks and in `make parity-report` (marker `power`), the loss and gradient plants everywhere.
CASES = [pytest.param(p, id=f"{p.check}:{p.name}",
                      marks=(pytest.mark.slow, pytest.mark.power)
                      if p.quantity in ("train", "update") else ())
         for p in PLANTS]


@pytest.mark.parametrize("plant", CASES)
def test_check_sees_planted_change(plant, parity, official_agent, obs_space, act_space,
                                   shared_variables, batch):
    variables = shared_variables
    if plant.quantity == "update":
        variables = _trained(official_agent, shared_variables, batch)
    unchanged = _quantity(official_agent, plant.quantity, variables, batch)
    agent = _agent(official_agent, obs_space, act_space, plant.overrides)
    planted_batch = BATCH_CHANGES[plant.batch_change](batch) if plant.batch_change else batch
    planted = _quantity(agent, plant.quantity, variables, planted_batch)
    if plant.quantity == "update":
        measured, _ = updates.worst(updates.update_ratios(planted, unchanged, variables))
    else:
        tolerance = tolerances.get(TOLERANCE[plant.quantity.partition(":")[0]])
        measured = margin(planted, unchanged, tolerance)
    print(f"\n{plant.check} <- {plant.name}: margin {measured:.3g}")
    parity.sees(plant.check, plant.name, measured, plant.min_margin)
    assert measured >= plant.min_margin, (
        f"{plant.check} cannot see '{plant.name}': the planted change moves it only "
        f"{measured:.3g}x its tolerance (need {plant.min_margin:g}x)")


KL_LIVE_FRACTION = 0.2


def test_kl_terms_on_both_sides_of_free_nats(official_agent, shared_variables, batch):
    """A KL check sees the free-nats clip only where some terms sit at it, and the KL itself
    (and its gradient) only where some exceed it. Measured: 26 of 36 above, 10 at the clip."""
    dyn = official_agent.losses(batch, variables=shared_variables).losses["dyn"]
    free_nats = official_agent.config.dyn.rssm.free_nats
    above, clipped = float((dyn > free_nats).mean()), float((dyn == free_nats).mean())
    print(f"\nKL elements above free nats {above:.0%}, at the clip {clipped:.0%}")
    assert above >= KL_LIVE_FRACTION and clipped >= KL_LIVE_FRACTION, (
        f"KL terms: {above:.0%} above free nats and {clipped:.0%} at the clip; each must be "
        f">= {KL_LIVE_FRACTION:.0%} (operating_point.KL_SCALE)")
