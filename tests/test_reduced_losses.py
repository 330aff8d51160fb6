"""Loss code that returns batch means needs no surgery (issue 25 item 2): a target declaring
`reductions = {piece: "mean"}` for its loss-returning pieces returns each loss as a scalar and
its gradients as those of the scalar, and every check compares like with like: no false
alarm on the reimpl wrapped that way, per-step probes of losses read through their gradients
(or, for own_losses, reported as not measurable), and a mean declared but a sum returned is
caught as a pure rescaling. The real suite, against the reimpl."""

from __future__ import annotations

from target_runs import run_against

TARGET = '''
from types import SimpleNamespace

import jax.numpy as jnp
import numpy as np

from parity_tests.targets import reimpl_outputs_target

LOSSES = {"world_model_terms": ("image", "rew", "con", "dyn", "rep"),
          "imagination_loss": ("policy", "value", "entropy_term", "slowreg_term"),
          "replay_loss": ("repval", "slowreg_term")}


def _means(piece, losses, reduce):
    def reduced(*args):
        result = dict(piece(*args))
        sizes = {k: np.size(result[k]) for k in losses if k in result}
        grads = {k: {o: np.asarray(g) / (sizes[k] if reduce == "mean" else 1)
                     for o, g in by_output.items()}
                 for k, by_output in result.get("grads", {}).items()}
        result.update({k: getattr(np, reduce)(np.asarray(result[k])) for k in sizes})
        return {**result, "grads": grads}

    return reduced


def make_target(reduce="mean", declared="mean"):
    pieces = dict(vars(reimpl_outputs_target.make_target()))
    for name, losses in LOSSES.items():
        pieces[name] = _means(pieces[name], losses, reduce)
    own_losses = pieces["own_losses"]  # differentiated by the suite: jnp
    pieces["own_losses"] = lambda *args: {k: getattr(jnp, reduce)(v)
                                          for k, v in own_losses(*args).items()}
    pieces["reductions"] = {name: declared for name in (*LOSSES, "own_losses")}
    return SimpleNamespace(**pieces)


def sums_declared_as_means():
    return make_target(reduce="sum", declared="mean")
'''
FILES = ["parity_tests/test_world_model_outputs.py", "parity_tests/test_actor_critic_outputs.py",
         "parity_tests/test_time_index.py", "parity_tests/test_structure.py"]


def _run(tmp_path, factory, checks):
    return run_against(tmp_path, "batch_means", TARGET, factory, checks, timeout=1500)


def test_batch_mean_losses_agree_where_the_code_matches_the_official(tmp_path):
    run, rows = _run(tmp_path, "make_target", FILES)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    statuses = {check: row["status"] for check, row in rows.items()}
    assert set(statuses.values()) <= {"agree", "not provided"}, {
        c: s for c, s in statuses.items() if s not in ("agree", "not provided")}
    assert statuses["outputs/world_model/rew"] == "agree"
    assert statuses["outputs/imag/grad/value/value_logits"] == "agree"
    assert statuses["time_index/world_model/reward->rew"] == "agree"  # through its gradient
    assert statuses["gradient_flow/params/rew"] == "agree"
    assert statuses["time_index/observe/action->world_model"] == "not provided"


def test_a_sum_declared_as_a_mean_is_a_pure_rescaling(tmp_path):
    run, rows = _run(tmp_path, "sums_declared_as_means", FILES[:1])
    row = rows["outputs/world_model/rew"]
    assert row["status"] == "differs" and row["form"].startswith("scale-only x"), row
