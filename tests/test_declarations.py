"""Target declarations (parity_tests/declarations.py, docs/TARGETS.md "Declarations"): the suite
compares like with like where a target says how its code differs in form, not in substance.

The parity runs here are subprocesses of the real suite on the reimpl wrapped the way a real
codebase would be (a batch-mean loss), so they take about half a minute each.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from parity_tests import declarations

ROOT = Path(__file__).resolve().parents[1]

MEAN_TARGET = '''
import jax.numpy as jnp
from parity_tests.targets import reimpl_target

def make(reductions):
    base = reimpl_target.make_target()
    kl = base.latent_kl_losses
    return type(base)(
        twohot_loss=lambda logits, target: base.twohot_loss(logits, target).mean(),
        latent_kl_losses=lambda *args: {k: v.mean() for k, v in kl(*args).items()},
        reductions=reductions)

def declared():
    return make({"twohot_loss": "mean", "latent_kl_losses": "mean"})

def misdeclared():
    return make({"twohot_loss": "sum", "latent_kl_losses": "sum"})
'''


def run_parity(tmp_path: Path, target: str, *tests: str) -> subprocess.CompletedProcess:
    """The parity suite on `tests` with the target `meanloss:<target>`: CI's examples without
    shrinking (the mutant runner's profile). Only pass or fail is read here, and shrinking the
    misdeclared target's failures compiled new shapes for 2 of this file's 3 minutes."""
    (tmp_path / "meanloss.py").write_text(MEAN_TARGET)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]),
           "PARITY_HYPOTHESIS_PROFILE": "mutants"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests, "--target",
         f"meanloss:{target}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


REDUCED_CHECKS = ("parity_tests/test_twohot.py::test_twohot_loss",
                  "parity_tests/test_latents.py::test_latents_kl_values",
                  "parity_tests/test_latents.py::test_latents_kl_gradients")


# Without a declaration the same target fails all of them (scalars against per-element values;
# gradients of a mean against those of a sum), as every batch-mean target did before.
@pytest.mark.parametrize("target, outcome", [
    ("declared", "6 passed"),
    ("misdeclared", "6 failed"),  # a sum is not a mean: the comparison still has power
], ids=["mean-declared", "sum-declared-mean-computed"])
def test_batch_mean_losses_compare_like_with_like(tmp_path, target, outcome):
    run = run_parity(tmp_path, target, *REDUCED_CHECKS)
    assert outcome in run.stdout, run.stdout[-3000:] + run.stderr[-2000:]


def test_reduction_defaults_to_per_element():
    assert declarations.reduction(SimpleNamespace(), "twohot_loss") == "none"
    values = {"dyn": np.arange(4.0)}
    assert declarations.reduce(values, "none") is values
    assert float(declarations.reduce(values, "mean")["dyn"]) == 1.5
    assert float(declarations.reduce(values, "sum")["dyn"]) == 6.0


@pytest.mark.parametrize("reductions, message", [
    ({"lambda_return": "mean"}, "target.reductions names 'lambda_return': only twohot_loss, "
                                "latent_kl_losses, imagination_loss, replay_loss, "
                                "world_model_terms, own_losses may be declared reduced"),
    ({"twohot_loss": "avg"}, "target.reductions['twohot_loss'] is 'avg': one of 'none', "
                             "'mean', 'sum'"),
    (["twohot_loss"], "target.reductions must be a dict {piece: kind}, got list"),
], ids=["not-reducible", "unknown-kind", "not-a-dict"])
def test_a_bad_reduction_names_the_offender(reductions, message):
    with pytest.raises((ValueError, TypeError)) as error:
        declarations.reduction(SimpleNamespace(reductions=reductions), "twohot_loss")
    assert str(error.value).startswith(message)


def test_the_pieces_listing_knows_every_declaration():
    """`python -m parity_tests pieces` must not call a declaration an unknown attribute."""
    from parity_tests import provided

    assert set(provided.OTHER) == {"name", *declarations.NAMES}
