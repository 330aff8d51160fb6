"""The acting policy (official `Agent.policy`) over a sequence of observations, deterministic
mode: encoder, posterior step with resets at `is_first`, policy head; each step's action
becomes the next step's previous action. Shared weights, the shared batch's observations.
At the debug size the mode action barely moves with the input (8 hidden units), so the
per-step posterior latents (`deter`, `stoch`) carry most of the comparison."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

OBS_KEYS = ("image", "reward", "is_first", "is_last", "is_terminal")


def _official_rollout(model, obs):
    """Module level, so the adapter reuses its compiled form; obs {k: [B, T, ...]}."""
    carry = model.init_policy(obs["is_first"].shape[0])
    actions, deter, stoch = [], [], []
    for t in range(obs["is_first"].shape[1]):
        carry, act, _ = model.policy(carry, {k: v[:, t] for k, v in obs.items()})
        dyn_carry = carry[1]
        actions.append(act)
        deter.append(dyn_carry["deter"])
        stoch.append(dyn_carry["stoch"])
    stack = lambda xs: jnp.stack(xs, 1)  # noqa: E731
    return {"action": {k: stack([a[k] for a in actions]) for k in actions[0]},
            "deter": stack(deter), "stoch": stack(stoch)}


def _index(action: np.ndarray, steps_shape) -> np.ndarray:
    """Discrete actions as class indices, whether given as indices or one-hot."""
    return action.argmax(-1) if action.shape != steps_shape else action


def test_policy_rollout(target, parity, official_agent, shared_variables, preset_name, obs_space,
                        act_space, batch):
    check = "policy/rollout"
    description = ("acting policy over the batch's observations: posterior deter and stoch, "
                   "and the action, per step (deterministic mode)")
    fn = parity.piece(target, "policy_rollout", check, "CRITDIFF", description)
    obs = {k: batch[k] for k in OBS_KEYS}
    obs["is_first"] = obs["is_first"].copy()
    obs["is_first"][:, 0] = True
    ref = official_agent.apply(_official_rollout, obs, variables=shared_variables)
    ours = fn(obs_space, act_space, preset_name, shared_variables, obs)
    steps = obs["is_first"].shape
    compared = {"deter": np.asarray(ours["deter"]), "stoch": np.asarray(ours["stoch"]),
                "action": _index(np.asarray(ours["action"]["action"]), steps)}
    expected = {"deter": ref["deter"], "stoch": ref["stoch"],
                "action": _index(ref["action"]["action"], steps)}
    parity.check(check, "CRITDIFF", description, compared, expected, "forward")
