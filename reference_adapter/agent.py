"""The official DreamerV3 agent with weights, batches and randomness given from outside.

`OfficialAgent` builds the inner `dreamerv3.agent.Agent` (not the `embodied.jax.Agent` wrapper,
whose positional `jax.jit` call fails on current jax) and drives it through ninjax:
`nj.init` creates the variables, `nj.pure` runs a method on a flat variable dict. Variables are
keyed exactly as the official code names them (`dyn/dynin0/kernel`, `opt/state/1/1/...`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from . import batches
from . import params as params_lib
from .errors import ParameterError
from .loader import load
from .official_config import make_config
from .sampling import deterministic_sampling
from .spaces import to_official

# The modules the official optimizer trains (Agent.modules); `slowval/` is a parameter too, but
# is updated by the slow-critic EMA, not by gradients.
TRAINED_MODULES = ("dyn", "enc", "dec", "rew", "con", "pol", "val")
PARAM_MODULES = (*TRAINED_MODULES, "slowval")


def is_param(name: str) -> bool:
    return name.split("/", 1)[0] in PARAM_MODULES


def is_trained(name: str) -> bool:
    return name.split("/", 1)[0] in TRAINED_MODULES


def _seed_array(seed: int | np.ndarray) -> np.ndarray:
    return np.asarray([seed, seed], np.uint32) if np.ndim(seed) == 0 else np.asarray(seed)


def _to_numpy(tree):
    return jax.tree.map(np.asarray, tree)


@dataclass(frozen=True)
class LossResult:
    losses: dict[str, np.ndarray]  # per-element loss of each term, [B, T] (repval [B, T-1])
    total: float  # sum over terms of mean * loss scale, as the official optimizer sees it
    metrics: dict[str, np.ndarray]


class OfficialAgent:
    """One official agent for fixed spaces and config; variables are held and replaceable."""

    def __init__(
        self,
        obs_space: dict,
        act_space: dict,
        preset: str = "debug",
        overrides: dict[str, Any] | None = None,
    ):
        self.official = load()
        self.config = make_config(preset, overrides)
        self.obs_space = to_official(obs_space)
        self.act_space = to_official(act_space)
        model = object.__new__(self.official.agent.Agent)
        model.__init__(self.obs_space, self.act_space, self.config)
        self.model = model
        self.loss_scales = dict(model.scales)
        self._compiled: dict[Any, Callable] = {}
        self._spec: dict[str, tuple[tuple[int, ...], np.dtype]] | None = None
        self.variables: dict[str, np.ndarray] | None = None

    # ----------------------------------------------------------------- variables
    def init(self, seed: int = 0) -> dict[str, np.ndarray]:
        """Create every official variable (parameters and state) with the official init."""
        nj = self.official.ninjax
        batch = self.example_batch(1, self.config.replay_context + 2)
        init = nj.init(self._impure_train)
        variables = init({}, batch, seed=_seed_array(seed))
        self.variables = {k: np.asarray(v) for k, v in sorted(variables.items())}
        self._spec = {k: (v.shape, v.dtype) for k, v in self.variables.items()}
        return dict(self.variables)

    @property
    def spec(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """Shape and dtype of every official variable, keyed by official name."""
        if self._spec is None:
            self.init(0)
        return self._spec

    def param_spec(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        return {k: v for k, v in self.spec.items() if is_param(k)}

    def get_params(self) -> dict[str, np.ndarray]:
        self._require_variables()
        return {k: v.copy() for k, v in self.variables.items() if is_param(k)}

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        """Replace every parameter; refuses unknown, missing, mis-shaped, mis-typed or
        non-finite entries, naming each offender."""
        self._require_variables()
        params_lib.check(params, self.param_spec(), what="parameter")
        self.variables = {**self.variables, **{k: np.asarray(v) for k, v in params.items()}}

    def set_variables(self, variables: dict[str, np.ndarray]) -> None:
        """Replace every variable (parameters, optimizer and normaliser state)."""
        params_lib.check(variables, self.spec, what="variable", check_finite=False)
        self.variables = {k: np.asarray(v) for k, v in variables.items()}

    def _require_variables(self):
        if self.variables is None:
            raise ParameterError("the agent has no variables yet: call init(seed) first")

    # ------------------------------------------------------------------- batches
    def example_batch(self, batch_size: int, batch_length: int, seed: int = 0) -> dict:
        """A random batch in the official layout (see batches.example_batch)."""
        return batches.example_batch(
            self.obs_space, self.act_space, self._entry_shapes(), batch_size, batch_length, seed
        )

    def _entry_shapes(self) -> dict[str, tuple[int, ...]]:
        if not self.config.replay_context:
            return {}
        rssm = self.config.dyn.rssm
        return {"dyn/deter": (rssm.deter,), "dyn/stoch": (rssm.stoch, rssm.classes)}

    def check_batch(self, batch: dict) -> None:
        batches.check(
            batch, self.obs_space, self.act_space, self._entry_shapes(),
            self.config.replay_context,
        )

    # ------------------------------------------------------- official computations
    def _impure_loss_terms(self, data):
        model = self.model
        carry = model.init_train(data["is_first"].shape[0])
        carry, obs, prevact, _ = model._apply_replay_context(carry, data)
        _, (_, _, outs, metrics) = model.loss(carry, obs, prevact, training=True)
        return outs["losses"], metrics

    def _impure_train(self, data):
        carry = self.model.init_train(data["is_first"].shape[0])
        _, _, metrics = self.model.train(carry, data)
        return metrics

    def _jit(self, key, build: Callable[[], Callable]) -> Callable:
        if key not in self._compiled:
            self._compiled[key] = jax.jit(build())
        return self._compiled[key]

    def _run(self, name, fn, deterministic, *args, variables=None, seed=0):
        """Run a compiled pure function of (variables, seed, *args) in the given sampling mode."""
        if variables is None:
            self._require_variables()
            variables = self.variables
        compiled = self._jit((name, deterministic), lambda: fn)
        with deterministic_sampling(deterministic):
            return compiled(variables, _seed_array(seed), *args)

    def losses(
        self, batch: dict, seed: int = 0, deterministic: bool = True, variables=None
    ) -> LossResult:
        """Every loss term per (B, T) element, as the official train step computes them."""
        self.check_batch(batch)
        pure = self.official.ninjax.pure(self._impure_loss_terms)

        def fn(variables, seed, data):
            _, (losses, metrics) = pure(variables, data, seed=seed)
            return losses, metrics

        losses, metrics = self._run(
            "losses", fn, deterministic, batch, variables=variables, seed=seed
        )
        losses, metrics = _to_numpy(losses), _to_numpy(metrics)
        total = sum(float(v.mean()) * self.loss_scales[k] for k, v in losses.items())
        return LossResult(losses=losses, total=total, metrics=metrics)

    def loss_grads(
        self, batch: dict, seed: int = 0, deterministic: bool = True, variables=None
    ) -> dict[str, dict[str, np.ndarray]]:
        """d mean(loss term) / d parameter, for every term and every trained parameter."""
        self.check_batch(batch)
        pure = self.official.ninjax.pure(self._impure_loss_terms)

        def fn(variables, seed, data):
            trained = {k: v for k, v in variables.items() if is_trained(k)}
            rest = {k: v for k, v in variables.items() if not is_trained(k)}

            def term_means(trained):
                _, (losses, _) = pure({**rest, **trained}, data, seed=seed)
                return {k: v.mean() for k, v in losses.items()}

            return jax.jacrev(term_means)(trained)

        return _to_numpy(
            self._run("grads", fn, deterministic, batch, variables=variables, seed=seed)
        )

    def train_step(
        self, batch: dict, seed: int = 0, deterministic: bool = True, variables=None
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """One official train step (losses, gradients, optimizer update, slow critic);
        returns the new variables and the metrics. Held variables are not changed."""
        self.check_batch(batch)
        pure = self.official.ninjax.pure(self._impure_train)

        def fn(variables, seed, data):
            return pure(variables, data, seed=seed)

        new_variables, metrics = self._run(
            "train", fn, deterministic, batch, variables=variables, seed=seed
        )
        return _to_numpy(new_variables), _to_numpy(metrics)

    def apply(
        self, method: Callable, *args, seed: int = 0, deterministic: bool = True,
        variables=None, modify: bool = False,
    ):
        """Run `method(model, *args)` on the official model with the held variables.

        `method` should be a module-level function so its compiled form is reused. Returns the
        output, and with `modify=True` also the new variables (normaliser updates, say).
        """
        pure = self.official.ninjax.pure(lambda *a: method(self.model, *a))

        def fn(variables, seed, *args):
            new_variables, out = pure(variables, *args, seed=seed)
            return (out, new_variables) if modify else out

        return _to_numpy(
            self._run(
                ("apply", method, modify), fn, deterministic, *args,
                variables=variables, seed=seed,
            )
        )


def init_params(obs_space: dict, act_space: dict, preset: str = "debug",
                overrides: dict | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """The official initial parameters, flat and officially named."""
    agent = OfficialAgent(obs_space, act_space, preset, overrides)
    agent.init(seed)
    return agent.get_params()


