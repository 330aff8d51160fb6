"""PyTorch targets (parity_tests/frameworks.py): the bridge hands tensors and seeds, takes the
target's own torch.autograd gradients where the suite differentiates, and the torch worked
example (parity_tests/examples/torch_toy_target.py) gets the checks and tags a JAX target
gets. Needs torch (`make setup` installs the CPU build); under CI its absence fails."""

from __future__ import annotations

import os
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from target_runs import run_suite

from parity_tests import frameworks
from parity_tests.mutants.__main__ import TORCH_REGISTRY, TORCH_SELECTION, TORCH_TARGET
from parity_tests.target import load_target

try:
    import torch
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("torch is not installed (make setup installs it; Makefile TORCH)",
                allow_module_level=True)


class _DoubledBackward(torch.autograd.Function):
    """x**2 forward with a backward of 4x, not 2x: only torch.autograd knows it."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 2

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 4 * x * grad


def _bridged(**pieces):
    return frameworks.bridged(SimpleNamespace(framework="torch", **pieces), list(pieces))


def test_gradients_are_the_targets_own_autograd():
    target = _bridged(twohot_loss=lambda logits, t: _DoubledBackward.apply(logits).sum(-1) * t)
    logits = np.arange(6, dtype=np.float32).reshape(2, 3)
    scale = np.array([1.0, -2.0], np.float32)
    value = target.twohot_loss(logits, scale)
    assert isinstance(value, np.ndarray)
    np.testing.assert_allclose(value, (logits ** 2).sum(-1) * scale)
    grad = jax.grad(lambda x: target.twohot_loss(x, scale).sum())(jnp.asarray(logits))
    np.testing.assert_allclose(grad, 4 * logits * scale[:, None])


def test_keys_become_integer_seeds_per_key_under_vmap():
    seen = []

    def sample(logits, unimix, seed):
        seen.append(seed)
        generator = torch.Generator().manual_seed(seed)
        return logits + torch.rand(logits.shape, generator=generator)

    target = _bridged(latent_sample=sample)
    logits = np.zeros((1, 2, 3), np.float32)
    keys = jax.random.split(jax.random.key(0), 4)
    draws = np.asarray(jax.vmap(lambda k: target.latent_sample(logits, 0.01, k))(keys))
    assert draws.shape == (4, 1, 2, 3)
    assert all(isinstance(s, int) for s in seen)
    assert len({tuple(d.ravel()) for d in draws}) == 4  # one seed per key
    again = target.latent_sample(logits, 0.01, keys[2])
    np.testing.assert_array_equal(again, draws[2])  # the same key, the same seed
    received = []
    policy = _bridged(uniform_policy_samples=lambda *args: received.append(args[-1]) or {})
    policy.uniform_policy_samples(None, None, "parity", {}, keys)
    assert received == [seen[1:5]]  # a key array [N]: its N seeds (seen[0]: the shape probe)


def test_own_losses_differentiate_the_modules_parameters():
    def own_params(obs_space, act_space, preset, seed):
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))

    def own_losses(obs_space, act_space, preset, module, batch, seed):
        out = module(batch["x"])
        return {"rew": (out ** 2).sum(-1), "con": out[..., 0]}

    target = _bridged(own_params=own_params, own_losses=own_losses,
                      own_param_group=lambda name: name.split(".")[0])
    params = target.own_params(None, None, "parity", 0)
    assert sorted(params) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    moved = {k: v + 0.1 for k, v in params.items()}
    batch = {"x": np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)}
    grads = jax.grad(lambda p: target.own_losses(None, None, "parity", p, batch, 0)["rew"].sum()
                     )(moved)
    reference = own_params(None, None, "parity", 0)
    with torch.no_grad():
        for name, parameter in reference.named_parameters():
            parameter.copy_(torch.from_numpy(moved[name]))
    (reference(torch.from_numpy(batch["x"])) ** 2).sum().backward()
    for name, parameter in reference.named_parameters():
        np.testing.assert_allclose(grads[name], parameter.grad.numpy(), rtol=1e-6)
    assert target.own_param_group(jax.tree_util.keystr((jax.tree_util.DictKey("2.bias"),))) == "2"


def test_output_pieces_get_autograd_gradients():
    def world_model_terms(preset, inputs):
        return {"rew": (inputs["reward_logits"] ** 2).sum(-1),
                "con": inputs["con_logit"] * 3, "dyn": inputs["prior_logits"].sum((-2, -1))}

    target = _bridged(world_model_terms=world_model_terms)
    inputs = {"reward_logits": np.ones((2, 3, 5), np.float32),
              "con_logit": np.full((2, 3), 0.5, np.float32),
              "prior_logits": np.zeros((2, 3, 4, 8), np.float32),
              "post_logits": np.zeros((2, 3, 4, 8), np.float32),
              "is_first": np.zeros((2, 3), bool)}
    grads = target.world_model_terms("parity", inputs)["grads"]
    np.testing.assert_allclose(grads["rew"]["reward_logits"], 2 * inputs["reward_logits"])
    np.testing.assert_allclose(grads["con"]["con_logit"], 3.0)
    np.testing.assert_allclose(grads["con"]["reward_logits"], 0.0)  # an output it does not read
    assert set(grads) == {"rew", "con", "dyn"} and set(grads["dyn"]) == {
        "reward_logits", "con_logit", "prior_logits", "post_logits"}


def test_an_unknown_framework_is_one_line():
    with pytest.raises(ValueError, match="target.framework is 'tensorflow': one of 'jax', 'torch'"):
        frameworks.bridged(SimpleNamespace(framework="tensorflow"), [])


def test_a_jax_target_is_left_as_it_is():
    target = SimpleNamespace(twohot_loss=lambda logits, t: logits)
    assert frameworks.bridged(target, ["twohot_loss"]) is target
    assert load_target(TORCH_TARGET).framework == "torch"


def test_the_torch_toy_gets_the_jax_toys_findings_and_its_own(tmp_path, monkeypatch):
    """The torch toy's loss code makes the JAX toy's choices: the same building blocks differ
    with the same tags (its registry holds the JAX toy's entries), the output-level rows follow
    from them, and its networks' previous action carried across an episode start is the
    missed reset it is, the imagination and replay probes of actions following from it.
    The statuses hold for any examples; the KL's form is a pure x0.25 only where no element's
    KL crosses the free nats on one side alone, so elsewhere the factor is below it (measured
    under the random "dev" profile: x0.25, x0.249, x0.224, x0.25 in four runs; CI's examples,
    derived from the test function's source, gave x0.25, then x0.247 after its source
    changed)."""
    monkeypatch.setenv("PARITY_HYPOTHESIS_PROFILE", "ci")
    run, rows = run_suite(
        tmp_path, TORCH_TARGET, ["parity_tests", "-k", TORCH_SELECTION],
        ["--registry", str(TORCH_REGISTRY)], timeout=1500)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    status = {check: row["status"] for check, row in rows.items()}
    first_causes = {cause for row in rows.values() for cause in row["follows"]}
    assert {"twohot/pred", "twohot/loss", "latents/kl", "policy/categorical"} <= first_causes
    form = rows["latents/kl/values"]["form"]
    assert status["latents/kl/values"] == "known" and form.startswith("scale-only x"), form
    assert 0.2 <= float(form.split("x", 1)[1]) <= 0.25, form  # a mean over the toy's 4 latents
    reset = rows["time_index/observe/action->world_model"]
    assert (reset["status"], reset["tag"]) == ("known", "BUG")
    assert "missed reset" in reset["summary"]
    for part in ("imagination", "replay"):
        assert rows[f"time_index/observe/action->{part}"]["follows"] == [
            "time_index/observe/action->world_model"]
    assert all(status[c] == "agree" for c in status if c.startswith("gradient_flow/"))
    assert sum(s == "agree" for s in status.values()) >= 60


def test_each_torch_mutant_is_a_catalogue_mistake_planted_in_the_torch_toy():
    """The torch catalogue's mistakes are the JAX catalogue's architecture-free ones, with
    their tags, and each replaces an existing attribute of the torch toy (a rename there must
    break the mutant loudly, not make it a silent no-op)."""
    from parity_tests.examples import torch_toy_agent, torch_toy_target
    from parity_tests.mutants.catalogue import MUTANTS
    from parity_tests.mutants.torch_catalogue import PREFIX, TORCH_MUTANTS

    for name, mutant in TORCH_MUTANTS.items():
        counterpart = MUTANTS[name.removeprefix(PREFIX)]
        assert (mutant.tag, counterpart.architecture_free) == (counterpart.tag, True), name
        replaced = []

        def patch(owner, attribute, value):
            assert owner in (torch_toy_agent, torch_toy_target), (name, owner)
            assert getattr(owner, attribute) is not value
            replaced.append(attribute)

        mutant.plant(patch)
        assert replaced, name
    assert {m.tag for m in TORCH_MUTANTS.values() if m.ci_sample} >= {"BUG", "CRITDIFF", "DIFF"}
