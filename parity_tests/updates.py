"""One optimizer update, compared at its own scale.

A parameter moves by ~lr per update (4e-5 after warmup) while it is ~0.5 itself, so a comparison
of the new parameters at 1e-4 of their size cannot see the update. Compared instead: the update
(new - old) of every trained parameter, relative to the largest update of its leaf, from an
optimizer state that has seen training (moments at the gradient's own scale, counters past the
warmup), so the update depends on the whole rule (clipping, RMS scaling and its debiasing,
momentum, learning rate) and not only on sign(g) as from zero moments.

Allowed error per element: 1e-4 of the leaf's largest official update (the gradient tolerance's
float32 reason) plus 2 float32 ulps of the old parameter: each side rounds old + update to the
parameter's precision, so an update is only readable to an ulp of the parameter (6e-8 for 0.5,
~0.2% of a 4e-5 update).
"""

from __future__ import annotations

import numpy as np

from reference_adapter.agent import is_trained

from . import difference_form, noise_floor

UPDATE_RTOL = 1e-4
PARAMETER_ULPS = 2
OPT_COUNTS = ("opt/state/1/0", "opt/state/2/0", "opt/state/3/count", "opt/step/value")
TRAINED_STEPS = 2000  # past the official warmup of 1000 updates


def trained_optimizer(variables: dict, gradient: dict, seed: int = 3) -> dict:
    """`variables` with the optimizer state of an agent that has trained: counters at
    TRAINED_STEPS, momentum ~N(0, (s/2)^2) and second moments ~(s (0.5 + |N|))^2, with s the
    RMS of this parameter's gradient `gradient[name]` (the total of the scaled loss terms)."""
    rng = np.random.default_rng(seed)
    out = dict(variables)
    for name in OPT_COUNTS:
        out[name] = np.asarray(TRAINED_STEPS, variables[name].dtype)
    for name, grad in sorted(gradient.items()):
        scale = max(float(np.sqrt(np.mean(np.square(grad)))), 1e-12)
        for prefix, value in (
            ("opt/state/2/1/", 0.5 * scale * rng.standard_normal(grad.shape)),
            ("opt/state/1/1/", (scale * (0.5 + np.abs(rng.standard_normal(grad.shape)))) ** 2),
        ):
            out[prefix + name] = value.astype(variables[prefix + name].dtype)
    return out


def change(new: dict, old: dict) -> dict[str, np.ndarray]:
    """new - old of every entry of `new`, in float64 (each side's update from its own start)."""
    return {name: np.asarray(value, np.float64) - np.asarray(old[name], np.float64)
            for name, value in new.items()}


def allowed_error(reference_change: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Per element: UPDATE_RTOL of the leaf's largest official change plus PARAMETER_ULPS ulps
    of the old value; 0 for integers (counters), which must agree exactly."""
    old = np.asarray(old)
    if not np.issubdtype(old.dtype, np.floating):
        return np.zeros(old.shape)
    return (UPDATE_RTOL * np.abs(reference_change).max(initial=0.0)
            + PARAMETER_ULPS * np.spacing(np.abs(old)).astype(np.float64))


def update_ratios(new: dict, reference_new: dict, old: dict) -> dict[str, np.ndarray]:
    """|ours - official| / allowed for the update of every parameter in `reference_new`."""
    reference, ours = change(reference_new, old), change(new, old)
    return {name: np.abs(ours[name] - ref) / allowed_error(ref, old[name])
            for name, ref in reference.items()}


def judge(ours: dict, official: list[dict], starts: list[dict]) -> noise_floor.Judgement:
    """The target's change from starts[0] against the official step's from the same start,
    beyond the official's own spread (official[1:] from the twins starts[1:], noise_floor.py),
    for every entry of official[0]."""
    changes = [change(new, old) for new, old in zip(official, starts, strict=True)]
    allowed = {name: allowed_error(delta, starts[0][name]) for name, delta in changes[0].items()}
    return noise_floor.judge(change({k: ours[k] for k in official[0]}, starts[0]), changes[0],
                             changes[1:], allowed)


def signal(ours: dict, official_new: dict, start: dict) -> str:
    """The learning signal a differing update moves (issue 27), per trained module (the name's
    first part: enc, dyn, dec, rew, con, pol, val): the cosine between the target's parameter
    change and the official one from the same start, and the ratio of their norms, for every
    module whose change is not the official one up to difference_form.RESIDUAL of its norm
    (rounding); "pol: cosine 0.62, norm x1.4; val: zero (no change)". "" where every module's
    change is the official one up to rounding."""
    names = [k for k in official_new if is_trained(k)]
    ours_change, official_change = change({k: ours[k] for k in names}, start), change(
        {k: official_new[k] for k in names}, start)
    parts = []
    for module in dict.fromkeys(k.split("/", 1)[0] for k in names):
        keys = [k for k in names if k.split("/", 1)[0] == module]
        o = np.concatenate([ours_change[k].ravel() for k in keys])
        r = np.concatenate([official_change[k].ravel() for k in keys])
        norm_o, norm_r = np.linalg.norm(o), np.linalg.norm(r)
        if np.linalg.norm(o - r) <= difference_form.RESIDUAL * norm_r:
            continue
        if norm_o == 0 or norm_r == 0:
            parts.append(f"{module}: " + ("zero (no change)" if norm_o == 0
                                          else "moves where the official does not"))
            continue
        parts.append(f"{module}: cosine {o @ r / (norm_o * norm_r):.3g}, "
                     f"norm x{norm_o / norm_r:.3g}")
    return "; ".join(parts)


def worst(ratios: dict[str, np.ndarray]) -> tuple[float, str]:
    name = max(ratios, key=lambda k: ratios[k].max(initial=0.0))
    index = np.unravel_index(np.argmax(ratios[name]), ratios[name].shape)
    return float(ratios[name].max(initial=0.0)), f"{name}[{', '.join(map(str, index))}]"


def total_gradient(official_agent, batch, variables) -> dict[str, np.ndarray]:
    """The official gradient of the total loss (each term's mean times its scale)."""
    total: dict[str, np.ndarray] = {}
    for term, grads in official_agent.loss_grads(batch, variables=variables).items():
        for name, grad in grads.items():
            total[name] = total.get(name, 0.0) + official_agent.loss_scales[term] * grad
    return total
