"""update_order/losses: which parameters each loss of two consecutive updates sees (each
side's own networks, no weight shared; parity_tests/update_order.py).

Each side starts from its own initial parameters moved by N(0, 0.1^2) (own_networks.py), its
counters past the official warmup (so an update moves the parameters by the full learning
rate) and its moments as initialised, and takes one update on each of two batches, reporting
the mean of every loss term it minimised. Each reported mean is matched against the same term
computed alone from candidate parameter sets built from the updates' own results: the
parameters before the update (the official order), the world model already updated, the slow
critic already mixed, the parameters one update stale.
"""

from __future__ import annotations

import numpy as np
import pytest

from parity_tests import declarations, own_networks, update_order, updates
from reference_adapter import agent as agent_lib

SEED = 0
UPDATES = 2
CHECK = "update_order/losses"
DESCRIPTION = ("which parameters the loss terms of two consecutive updates were computed from "
               "(each side's own networks)")


@pytest.fixture(scope="module")
def update_batches(official_agent, batch):
    return [batch, official_agent.example_batch(*batch["reward"].shape, seed=1)]


def _official(official_agent, update_batches):
    """The means each official update reported, and its candidates' means, per update."""
    variables = dict(official_agent.variables)
    params = {k: v for k, v in variables.items() if agent_lib.is_param(k)}
    variables.update(own_networks.perturbed(params, SEED))
    for name in updates.OPT_COUNTS:
        variables[name] = np.asarray(updates.TRAINED_STEPS, variables[name].dtype)
    history, reported = [variables], []
    for k, data in enumerate(update_batches):
        new, metrics = official_agent.train_step(data, seed=SEED + k, variables=history[-1])
        history.append(new)
        reported.append({name.split("/", 1)[1]: float(value) for name, value in metrics.items()
                         if name.startswith("loss/")})
    computed = [_candidates(
        lambda p, data, seed: official_agent.losses(data, seed=seed, variables=p).losses,
        history, k, _official_group, data, reported[k]) for k, data in enumerate(update_batches)]
    return reported, computed


def _official_group(name: str) -> str | None:
    """The module of a trained variable, None for the slow critic; the rest (optimizer and
    normaliser state, counters) is state, kept as it was before the update."""
    if agent_lib.is_trained(name):
        return name.split("/", 1)[0]
    return None if name.startswith("slowval/") else "state"
def _candidates(losses, history, k, group_of, data, reported):
    """{hypothesis: {term: mean}} for update k, over the terms `reported` compares."""
    terms = [t for t in reported if t not in update_order.LEFT_OUT]
    return {name: {t: float(np.mean(found[t])) for t in terms}
            for name, params in update_order.parameter_sets(history, k, group_of).items()
            for found in [losses(params, data, SEED + k)]}


def _spread(reported, computed) -> float:
    return max(update_order.relative(r[t], c["before"][t])
               for r, c in zip(reported, computed, strict=True) for t in c["before"])


def test_update_order(target, parity, preset_name, obs_space, act_space, official_agent,
                      update_batches):
    own_params = parity.piece(target, "own_params", CHECK, "BUG", DESCRIPTION)
    own_losses = parity.piece(target, "own_losses", CHECK, "BUG", DESCRIPTION)
    own_updates = parity.piece(target, "own_updates", CHECK, "BUG", DESCRIPTION)
    group_of = parity.piece(target, "own_param_group", CHECK, "BUG", DESCRIPTION)
    official_reported, official_computed = _official(official_agent, update_batches)
    spread = _spread(official_reported, official_computed)
    tolerance = max(update_order.TOLERANCE, 10 * spread)

    params = own_params(obs_space, act_space, preset_name, SEED)
    start = own_networks.perturbed(params, SEED + 1,
                                   declarations.constant_params(target, params))
    results = own_updates(obs_space, act_space, preset_name, start, update_batches, SEED,
                          updates.TRAINED_STEPS)
    if not isinstance(results, list) or len(results) != UPDATES or not all(
            isinstance(r, dict) and {"params", "losses"} <= set(r) for r in results):
        parity.verdict(CHECK, "BUG", DESCRIPTION, False,
                       f"own_updates returned {type(results).__name__}, expected a list of "
                       f"{UPDATES} dicts with 'params' and 'losses'")
        return
    history = [start, *(r["params"] for r in results)]
    reported = [{t: float(v) for t, v in r["losses"].items()} for r in results]
    missing = sorted(set(official_computed[0]["before"]) - set(reported[0]))
    computed = [_candidates(
        lambda p, data, seed: own_losses(obs_space, act_space, preset_name, p, data, seed),
        history, k, group_of, data, {t: v for t, v in reported[k].items()
                                     if t in official_computed[0]["before"]})
        for k, data in enumerate(update_batches)]
    found = [update_order.matches({t: v for t, v in r.items() if t in c["before"]}, c,
                                  tolerance) for r, c in zip(reported, computed, strict=True)]
    tag, detail = update_order.verdict(found, reported, computed)
    if missing:
        detail = "; ".join(filter(None, [f"own_updates reported no means of {missing}", detail]))
    parity.verdict(CHECK, tag, DESCRIPTION, not detail, detail,
                   f"every term of {UPDATES} updates is the loss of the parameters before it "
                   f"(within {tolerance:.0e}; the official's own spread {spread:.1e})")
