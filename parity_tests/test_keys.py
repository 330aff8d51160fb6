"""[BUG]: every sampling site draws its own noise.

The official agent takes a fresh key at each site (`nj.seed()` folds a new counter into the
step's key), so the posterior sample and the action sample of one policy step are independent
given their distributions. The target makes both distributions uniform in its own networks
(`uniform_policy_samples`: zero the layers, or the logits, that produce the posterior and the
policy; no official weights are involved, so any architecture can), draws one policy step from
the initial state under many keys, and every latent's class is tested against the action with
a chi-square test of independence. A key reused for both sites couples them. A policy that is
not uniform could depend on the latent through the network and fake a coupling, so the actions'
uniformity is checked first, as a precondition of the wrapper, not a finding.
"""

from __future__ import annotations

import jax
import numpy as np
from scipy import stats

DRAWS = 20_000
# Per latent; with S latents the whole check raises a false alarm with probability < S * 1e-6.
FALSE_ALARM = 1e-6


def _first_step(obs_space) -> dict:
    obs = {k: np.zeros((1, *s.shape), s.dtype) for k, s in obs_space.items()}
    obs["is_first"] = np.ones((1,), bool)
    return obs


def _independence_pvalues(latents: np.ndarray, actions: np.ndarray) -> list[float]:
    """latents [N, S] class indices, actions [N] -> one p-value per latent."""
    pvalues = []
    for column in latents.T:
        table = np.zeros((column.max() + 1, actions.max() + 1))
        np.add.at(table, (column, actions), 1)
        table = table[table.sum(1) > 0][:, table.sum(0) > 0]
        pvalues.append(stats.chi2_contingency(table).pvalue if min(table.shape) > 1 else 1.0)
    return pvalues


def test_keys_posterior_and_action_are_independent(target, parity, preset_name, obs_space,
                                                   act_space):
    check = "keys/policy/posterior-vs-action"
    description = (f"posterior latents and the action of one policy step, {DRAWS} keys, "
                   "chi-square independence per latent")
    fn = parity.piece(target, "uniform_policy_samples", check, "BUG", description)
    keys = jax.random.split(jax.random.key(7), DRAWS)
    out = fn(obs_space, act_space, preset_name, _first_step(obs_space), keys)
    latents = np.asarray(out["stoch"])[:, 0].argmax(-1)  # [N, S]
    actions = np.asarray(out["action"]["action"])[:, 0]  # [N, A] one-hot
    actions = actions.argmax(-1) if actions.ndim == 2 else actions
    classes = act_space["action"].classes
    uniform = stats.chisquare(np.bincount(actions, minlength=classes)).pvalue
    assert uniform > FALSE_ALARM, (
        f"uniform_policy_samples: the actions are not uniform over {classes} classes (chi-square "
        f"p-value {uniform:.2e}): zero the layer (or the logits) that produces the policy, or "
        "the independence test cannot tell a shared key from a policy that reads the latent")
    pvalues = _independence_pvalues(latents, actions)
    worst = min(pvalues)
    parity.verdict(check, "BUG", description, worst > FALSE_ALARM,
                   f"smallest p-value {worst:.2e} (threshold {FALSE_ALARM:g} per latent): "
                   "the action depends on the posterior sample's noise",
                   f"smallest p-value {worst:.2g} over {len(pvalues)} latents")
