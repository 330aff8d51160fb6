"""Structural probes on each side's own networks (parity_tests/own_networks.py): no weights
are shared, so they serve a target of any architecture.

time_index/observe/carry->world_model: the stored deterministic state (`dyn/deter`) of one
replayed entry is changed. The official starts a chunk from the entry of its last context step
(replay_context - 1) and reads no other; a target that starts from another entry's state reads
it one step late or early, a time-index [BUG].

time_index/observe/<input>-><part>: the action or is_first of the replayed batch is changed at
one step t (or the image inverted), and each part's loss terms (world model, imagination,
replay value) are recorded where they moved. The official agent feeds action[t] into the step
after it (the previous action of t + 1) and starts a fresh state at every is_first; the batch
has episode starts inside two of its sequences, so a state carried across them shows. A
pattern shifted against the official one is a time index, dependencies across an episode start
a missed reset: both [BUG]s, named as such (parity_tests/time_patterns.py).

gradient_flow/params/<term>: which official module (enc, dyn, dec, rew, con, pol, val)
receives the gradient of each loss term, the target naming the module of each of its own
parameters. A leak (gradient where the official stops it: a missing stop-gradient) is a
[BUG]; a cut (no gradient where the official passes one: a missing straight-through estimator,
or an official option such as reward_grad) changes what is learned, a [CRITDIFF].

gradient_flow/params/reset-state: which parameters receive gradient only when the batch has
episode starts, so set the state a reset restarts from (the official: zeros, set by none).
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from parity_tests import (
    declarations,
    own_networks,
    piece_results,
    reduced_losses,
    time_patterns,
)
from reference_adapter import agent as agent_lib

SEED = 0
# The time patterns count a step pair reached when it moves on either of two draws of the
# parameter noise: a dependency is structural, but how far one change moves a loss that sums
# several paths is not, and it can cancel by chance (measured on the torch toy: an imagination
# value loss, a mean over the horizon, moved by 7e-7 of its scale where its neighbours moved by
# 3e-4 to 1e-3; a replayed return reading the changed step twice, 5e-7). Two draws rarely both
# cancel; a step a change does not reach moves on neither.
DRAWS_SEED = 10
RESETS = ((1, 5), (3, 3))  # (trajectory, step): episode starts inside the batch's sequences
# (input, part): an action or is_first enters the recurrent state directly, so its reach is
# the same for any values; an observation's reach past its own step is not (_flip_dependent),
# and the imagination and replay losses see it only past that point.
PROBES = [*((name, part) for name in ("action", "is_first")
            for part in sorted(own_networks.PARTS)), ("image", "world_model")]
# The stored RSSM entry a replayed chunk starts from (replay context): changed by +1.0 at one
# entry, a move of the deterministic state the recurrence carries into every step after it.
CARRY = "dyn/deter"
TERMS = ("dyn", "rep", "rew", "con", "image", "policy", "value", "repval")


def _perturbation(name, act_space):
    if name == CARRY:
        return lambda values, t: time_patterns.changed_at(values, t, lambda x: x + 1.0)
    if name == "action":
        classes = act_space["action"].classes
        return lambda values, t: time_patterns.changed_at(values, t, lambda x: (x + 1) % classes)
    if name == "image":
        return lambda values, t: time_patterns.changed_at(values, t, lambda x: 255 - x)
    return lambda values, t: time_patterns.changed_at(values, t, lambda x: ~x)


def _flip_dependent(resets: np.ndarray, offset: int, steps_out: int) -> np.ndarray:
    """[B, T_in, T_out]: output steps after input step t in the same episode. An observation
    reaches them only through the one-hot latent sampled at t (a mode or a sample moves only
    when a class flips, which depends on the values, not on the structure), so they are left
    out of the observation's pattern; its own step and the steps before it or in another
    episode are compared."""
    batch, steps = resets.shape
    episode = np.cumsum(resets, 1)  # [B, T_in]
    t = np.arange(steps)[:, None]
    s = np.arange(steps_out)[None] + offset
    same = episode[:, :, None] == episode[:, s[0]][:, None, :]
    return same & (s > t)[None]


@pytest.fixture(scope="module")
def probe_batch(batch):
    is_first = np.array(batch["is_first"], copy=True)
    for b, t in RESETS:
        is_first[b, t] = True
    return {**batch, "is_first": is_first}


def _official_run(official_agent, seed):
    variables = dict(official_agent.variables)
    params = {k: v for k, v in variables.items() if agent_lib.is_param(k)}
    variables.update(own_networks.perturbed(params, seed))
    return lambda data: official_agent.losses(data, variables=variables).losses, variables


@pytest.fixture(scope="module")
def official_side(official_agent):
    return _official_run(official_agent, SEED)


@pytest.fixture(scope="module")
def official_draws(official_agent, official_side):
    """The official losses on two draws of the parameter noise (DRAWS_SEED apart)."""
    return official_side[0], _official_run(official_agent, SEED + DRAWS_SEED)[0]


@pytest.fixture(scope="module")
def cache():
    return {}


def _target_side(parity, target, check, description, obs_space, act_space, preset_name,
                 cache, context):
    """(run: batch -> loss terms, the perturbed parameters) of the target's own networks; the
    pieces are asked for by every check (a missing one is reported under each), the
    parameters made once."""
    own_params = parity.piece(target, "own_params", check, "BUG", description)
    own_losses = parity.piece(target, "own_losses", check, "BUG", description)
    if "params" not in cache:
        params = own_params(obs_space, act_space, preset_name, SEED)
        constant = declarations.constant_params(target, params)
        cache["params"] = own_networks.perturbed(params, SEED + 1, constant)
        cache["second params"] = own_networks.perturbed(params, SEED + 1 + DRAWS_SEED,
                                                        constant)
    def run(data, p=cache["params"]):  # K = T - replay_context steps of loss per sequence
        batch, steps = data["reward"].shape
        steps -= context
        shapes = {term: (((batch, steps - 1), "[B, K-1]") if term == "repval"
                         else ((batch, steps), "[B, K]")) for term in TERMS}
        return piece_results.checked(own_losses(obs_space, act_space, preset_name, p, data,
                                                SEED), "own_losses",
                                     reduced_losses.shapes(target, "own_losses", shapes))
    return run, cache["params"]


def _patterns(cache, side, runs, batch, name, act_space):
    """{output: Reach} of a change of `name`, reached on either parameter draw (`runs`)."""
    if (side, name) not in cache:
        draws = [time_patterns.patterns(run, batch, name, _perturbation(name, act_space))
                 for run in runs]
        cache[side, name] = {k: time_patterns.union([draw[k] for draw in draws])
                             for k in draws[0]}
    return cache[side, name]


@pytest.mark.parametrize("name, part", PROBES)
def test_observe_time_index(name, part, target, parity, preset_name, obs_space, act_space,
                            official_agent, official_draws, probe_batch, cache):
    check = f"time_index/observe/{name}->{part}"
    description = (f"which {part} loss steps a change of the replayed {name} at step t "
                   f"reaches (each side's own networks)")
    run, _ = _target_side(parity, target, check, description, obs_space, act_space,
                          preset_name, cache, official_agent.config.replay_context)
    reduced = declarations.reduction(target, "own_losses")
    if reduced != "none":
        parity.not_measurable(check, "BUG", description,
                              f"own_losses is declared reduced ({reduced}); which steps a "
                              f"change reaches needs its terms per (B, K) step")
    official = _patterns(cache, "official", official_draws, probe_batch, name, act_space)
    ours = _patterns(cache, "target", (run, lambda data: run(data, cache["second params"])),
                     probe_batch, name, act_space)
    outputs = own_networks.part_outputs(official, obs_space)[part]
    missing = [k for k in outputs if k not in ours]
    declared = [k for k in missing if parity.absent.get(k)]
    if missing and declared == missing:
        parity.declared_absent(check, description, ", ".join(missing),
                               "; ".join(parity.absent[k] for k in missing))
    if missing:
        parity.verdict(check, "BUG", description, False,
                       f"own_losses returned no {missing} (official terms {sorted(official)})",
                       "")
        return
    agrees, tag, detail, measured = _compared(cache, name, part, outputs, probe_batch,
                                              official_agent.config.replay_context)
    follows = ()
    if not agrees and part != "world_model":
        # the imagination and replay losses start from the world model's posterior states: an
        # input that reaches those at other steps reaches these at other steps too
        upstream = own_networks.part_outputs(official, obs_space)["world_model"]
        if all(k in ours for k in upstream) and not _compared(
                cache, name, "world_model", upstream, probe_batch,
                official_agent.config.replay_context)[0]:
            follows = (f"time_index/observe/{name}->world_model",)
    parity.verdict(check, tag, description, agrees, detail, measured, follows=follows)


def test_replay_context_carry(target, parity, preset_name, obs_space, act_space,
                              official_agent, official_draws, probe_batch, cache):
    check = "time_index/observe/carry->world_model"
    description = (f"which world model loss steps a change of the stored {CARRY} of one "
                   f"replayed entry reaches (the state a chunk starts from; each side's own "
                   f"networks)")
    context = official_agent.config.replay_context
    if not context:
        parity.not_measurable(check, "BUG", description,
                              "the preset replays no context: no stored state is read")
    run, _ = _target_side(parity, target, check, description, obs_space, act_space,
                          preset_name, cache, context)
    if declarations.reduction(target, "own_losses") != "none":
        parity.not_measurable(check, "BUG", description,
                              "own_losses is declared reduced; which steps a change reaches "
                              "needs its terms per (B, K) step")
    official = _patterns(cache, "official", official_draws, probe_batch, CARRY, act_space)
    ours = _patterns(cache, "target", (run, lambda data: run(data, cache["second params"])),
                     probe_batch, CARRY, act_space)
    outputs = [k for k in own_networks.part_outputs(official, obs_space)["world_model"]
               if k in ours]
    mine, reference, weak = time_patterns.resolved(
        *(time_patterns.union([found[k] for k in outputs]) for found in (ours, official)))
    agrees, tag, detail = time_patterns.diagnose_entry(mine, reference, CARRY,
                                                       "the world model losses")
    parity.verdict(check, tag, description, agrees, detail,
                   f"same pattern ({time_patterns.reach_text(reference, weak)}; terms "
                   f"{', '.join(outputs)})")


def _compared(cache, name, part, outputs, probe_batch, offset):
    """(agrees, tag, detail, measured) of the input's reach into the part's `outputs` on the
    target's and the official networks (the patterns already in `cache`)."""
    official, ours = cache["official", name], cache["target", name]
    reference, mine = (time_patterns.union([found[k] for k in outputs])
                       for found in (official, ours))
    if name == "image":
        compared = ~_flip_dependent(probe_batch["is_first"], offset, reference.moved.shape[2])
        reference, mine = reference.where(compared), mine.where(compared)
    mine, reference, weak = time_patterns.resolved(mine, reference)
    agrees, tag, detail = time_patterns.diagnose(
        mine, reference, name, f"the {part} losses", probe_batch["is_first"], offset)
    return agrees, tag, detail, (f"same pattern ({time_patterns.reach_text(reference, weak)}; "
                                 f"terms {', '.join(outputs)})")


def _term_grads(cache, name, run, params, official_agent, official_side, data):
    """({term: {param: d mean(term) / d param}} of the target, the same of the official) on
    `data`, each side on its own perturbed parameters; cached under `name`."""
    if ("term_grads", name) not in cache:
        ours = jax.jacrev(lambda p: {k: v.mean() for k, v in run(data, p).items()})(params)
        named = {t: {jax.tree_util.keystr(path): g
                     for path, g in jax.tree_util.tree_leaves_with_path(tree)}
                 for t, tree in ours.items()}
        cache["term_grads", name] = (
            named, official_agent.loss_grads(data, variables=official_side[1]))
    return cache["term_grads", name]


# Noise scales tried, in turn, when a KL term sits at its free-nats floor on every element.
FLOOR_NOISE = (0.3, 1.0)


def _off_the_floor(parity, target, check, description, term, run, group_of, data, cache):
    """The groups receiving `term` when every element of it sits at one value (the free-nats
    clip holds everywhere: a prior and posterior almost equal at initialisation, so no
    gradient flows whatever the structure): the parameters moved further (FLOOR_NOISE) until
    some element leaves the floor; not measurable when none does."""
    for i, noise in enumerate(FLOOR_NOISE):
        params = own_networks.perturbed(cache["params"], SEED + 2 + i,
                                        declarations.constant_params(target, cache["params"]),
                                        noise)
        if np.ptp(np.asarray(run(data, params)[term])) > 0:
            grads = jax.grad(lambda p: run(data, p)[term].mean())(params)
            named = {jax.tree_util.keystr(path): g
                     for path, g in jax.tree_util.tree_leaves_with_path(grads)}
            return own_networks.group_norms({term: named}, group_of)[term]
    parity.not_measurable(check, "CRITDIFF", description,
                          f"every element of {term} sits at one value (its free-nats floor) "
                          f"with the parameters moved by N(0, s^2) for s up to "
                          f"{FLOOR_NOISE[-1]}: no gradient flows to be seen")


def _without_resets(batch):
    """The batch with no episode start anywhere (its context steps included): every sequence
    goes on from the state its replay context gives it."""
    return {**batch, "is_first": np.zeros_like(batch["is_first"])}


def test_reset_state(target, parity, preset_name, obs_space, act_space, official_agent,
                     official_side, probe_batch, cache):
    """gradient_flow/params/reset-state: the official restarts every episode from zeros (the
    deterministic state, the latent and the previous action all masked to 0 at is_first), so
    no parameter enters its losses only at an episode start. A parameter of the target that
    receives gradient on the probe batch (two episode starts inside sequences, and one at each
    sequence's start) and exactly none on the same batch without its starts sets the state a
    reset restarts from: a learned initial state, another function at every reset, a [DIFF].
    Seen through starts inside the replayed sequences: a target that also starts each sequence
    from its initial state (no replay context) reads such a parameter everywhere."""
    check = "gradient_flow/params/reset-state"
    description = ("which parameters receive gradient only from batches with episode starts "
                   "(they set the state a reset restarts from; each side's own networks)")
    run, params = _target_side(parity, target, check, description, obs_space, act_space,
                               preset_name, cache, official_agent.config.replay_context)
    (ours_with, official_with), (ours_without, official_without) = (
        _term_grads(cache, name, run, params, official_agent, official_side, data)
        for name, data in (("probe", probe_batch), ("no resets", _without_resets(probe_batch))))
    norms = own_networks.leaf_norms
    ours = own_networks.reset_only(norms(ours_with), norms(ours_without))
    official = own_networks.reset_only(norms(official_with), norms(official_without))
    detail = ""
    if ours and not official:
        detail = (f"{', '.join(ours)} receive gradient only from batches with episode starts: "
                  f"the state a reset restarts from is set by parameters (a learned initial "
                  f"state); the official restarts from zeros (deterministic state, latent and "
                  f"previous action), which no parameter sets")
    elif official and not ours:
        detail = (f"the official's {', '.join(official)} enter its losses only at episode "
                  f"starts; none of the target's parameters do")
    parity.verdict(check, "DIFF", description, not detail, detail,
                   f"no parameter enters only at an episode start "
                   f"({len(own_networks.receiving(norms(ours_with)))} of the target's receive "
                   f"gradient with and without them)")


@pytest.mark.parametrize("term", TERMS)
def test_gradient_flow_params(term, target, parity, preset_name, obs_space, act_space,
                              official_agent, official_side, probe_batch, cache):
    check = f"gradient_flow/params/{term}"
    description = f"which modules receive the gradient of mean({term}) (each side's own networks)"
    run, params = _target_side(parity, target, check, description, obs_space, act_space,
                               preset_name, cache, official_agent.config.replay_context)
    group_of = parity.piece(target, "own_param_group", check, "BUG", description)
    if "grads" not in cache:
        ours, official = _term_grads(cache, "probe", run, params, official_agent,
                                     official_side, probe_batch)
        cache["grads"] = (own_networks.group_norms(ours, group_of),
                          own_networks.group_norms(official, lambda n: n.split("/", 1)[0]))
    if term not in cache["grads"][0] and parity.absent.get(term):
        parity.declared_absent(check, description, term, parity.absent[term])
    ours, official = (side.get(term, {}) for side in cache["grads"])
    if not own_networks.receiving(ours) and term in ("dyn", "rep"):
        ours = _off_the_floor(parity, target, check, description, term, run, group_of,
                              probe_batch, cache)
    tag, detail = own_networks.flow_difference(term, ours, official)
    receives = sorted(own_networks.receiving(official))
    parity.verdict(check, tag, description, not detail, detail,
                   f"{term} trains {', '.join(receives)}")
