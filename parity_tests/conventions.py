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


def last_step_read(last, lam: float) -> np.ndarray:
    """[B, T-1]: the last step whose inputs the official R[t] reads. R[t] reads steps t+1 ..
    k, where k is the first step after t with is_last (the lambda mixing is cut there and
    boot[k] taken) or T-1; with lam = 0 every return reads step t+1 alone."""
    last = np.asarray(last, bool)
    batch, length = last.shape
    ends = np.empty((batch, length - 1), int)
    following = np.full(batch, length - 1)
    for t in reversed(range(length - 1)):
        following = np.where(last[:, t + 1], t + 1, following)
        ends[:, t] = t + 1 if lam == 0 else following
    return ends


def episode_end_read(last, term, lam: float) -> np.ndarray:
    """[B, T-1] strings: what ends the stretch of steps R[t] reads: "truncation" (is_last
    without is_terminal), "terminal", or "none" (the window or lam = 0 ends it)."""
    last, term = np.asarray(last, bool), np.asarray(term) == 1
    ends = last_step_read(last, lam)
    rows = np.arange(last.shape[0])[:, None]
    ended = last[rows, ends]
    return np.where(ended & term[rows, ends], "terminal",
                    np.where(ended, "truncation", "none"))
