"""The documented shift between the official time indexing and the textbook one.

Official: `rew[t]` arrived with observation t (transition t-1 -> t); `term[t]`/`last[t]` mark
observation t. Textbook: `reward[t]`, `discount[t]` belong to the action taken at t (transition
t -> t+1). So the transition t -> t+1 reads index t+1 of the official arrays:

    reward[t]   = rew[t+1]
    discount[t] = disc * (1 - term[t+1])
    mixing[t]   = lam * (1 - last[t+1])      (a truncation cuts the lambda mixing)
    value[t+1]  = boot[t+1]

and the textbook return G[t] = reward[t] + discount[t] * ((1 - mixing[t]) * value[t+1]
+ mixing[t] * G[t+1]), G[T-1] = value[T-1], is the official R[t] for t = 0..T-2.
"""

from __future__ import annotations

import numpy as np


def official_to_textbook(last, term, rew, boot, disc: float, lam: float) -> dict:
    return dict(
        reward=rew[:, 1:],
        discount=disc * (1 - term[:, 1:]),
        mixing=lam * (1 - last[:, 1:]),
        value=boot,
    )


def textbook_lambda_return(reward, discount, mixing, value) -> np.ndarray:
    """A plain Python loop over time, in float64: the oracle."""
    reward, discount, mixing, value = (np.asarray(x, np.float64) for x in (
        reward, discount, mixing, value))
    returns = np.zeros_like(reward)
    following = value[:, -1]
    for t in reversed(range(reward.shape[1])):
        following = reward[:, t] + discount[:, t] * (
            (1 - mixing[:, t]) * value[:, t + 1] + mixing[:, t] * following)
        returns[:, t] = following
    return returns
