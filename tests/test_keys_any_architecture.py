"""The key-independence check (parity_tests/test_keys.py) for a target with networks of its own:
`uniform_policy_samples` asks the target to make its own sampling sites uniform, so no official
weights are involved. Before, the piece took the official variables with the suite zeroing the
official layers `dyn/obslogit/` and `pol/head/`: a target of another architecture could not
provide it, and the check was 'not provided'.

The target below has its own shapes (3 latents of 5 classes, an 8-unit encoder output) and
draws its two samples with split keys, with one key for both (the mistake), or with a policy
left non-uniform (a wrapper mistake, refused before any verdict).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

OWN_ARCHITECTURE = '''
from types import SimpleNamespace
import jax
import jax.numpy as jnp

STOCH, CLASSES, FEATURES = 3, 5, 8

def _make(shared_key, uniform_policy=True):
    # Its "networks": an encoder output and two logit layers, zeroed to make the sites uniform.
    post_layer = jnp.zeros((FEATURES, STOCH * CLASSES))
    policy_layer = jnp.zeros((STOCH * CLASSES, 17))
    if not uniform_policy:
        policy_layer = 3.0 * jax.random.normal(jax.random.key(1), policy_layer.shape)

    def step(key):
        post_key, act_key = (key, key) if shared_key else jax.random.split(key)
        logits = (jnp.ones(FEATURES) @ post_layer).reshape(STOCH, CLASSES)
        stoch = jax.nn.one_hot(jax.random.categorical(post_key, logits), CLASSES)
        action = jax.random.categorical(act_key, stoch.reshape(-1) @ policy_layer)
        return {"stoch": stoch[None], "action": {"action": action[None]}}

    def uniform_policy_samples(obs_space, act_space, preset, obs, keys):
        return jax.vmap(step)(keys)

    return SimpleNamespace(uniform_policy_samples=uniform_policy_samples)

def split_keys():
    return _make(shared_key=False)

def shared_key():
    return _make(shared_key=True)

def policy_not_uniform():
    return _make(shared_key=False, uniform_policy=False)
'''


def run_check(tmp_path: Path, target: str) -> str:
    (tmp_path / "own_architecture.py").write_text(OWN_ARCHITECTURE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "parity_tests/test_keys.py", "--target", f"own_architecture:{target}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return result.stdout + result.stderr


@pytest.mark.parametrize("target, outcome, message", [
    ("split_keys", "1 passed", ""),
    ("shared_key", "1 failed", "the action depends on the posterior sample's noise"),
    ("policy_not_uniform", "1 failed", "uniform_policy_samples: the actions are not uniform "
                                       "over 17 classes"),
], ids=["split-keys", "shared-key", "policy-not-uniform"])
def test_keys_check_runs_on_a_target_of_its_own_architecture(tmp_path, target, outcome, message):
    out = run_check(tmp_path, target)
    assert outcome in out and message in out, out[-3000:]
    if target == "policy_not_uniform":
        assert "unregistered finding" not in out, "a wrapper mistake is not a finding"
