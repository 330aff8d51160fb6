"""The adapter drives the real official agent, exactly and reproducibly.

Everything here runs `dreamerv3.agent.Agent` from the verified sdist; nothing is mocked.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from parity_tests import operating_point
from reference_adapter import BatchError, OfficialAgent, ParameterError, ReferenceUnavailable
from reference_adapter import networks
from reference_adapter import source as source_lib

LOSS_TERMS = {"image", "rew", "con", "dyn", "rep", "policy", "value", "repval"}


@pytest.fixture(scope="module")
def reference_losses(official_agent, batch):
    return official_agent.losses(batch, seed=0)


def test_adapter_params_are_officially_named(official_agent):
    names = set(official_agent.get_params())
    for expected in ("dyn/dynin0/kernel", "dyn/dyngru/kernel", "enc/cnn0/kernel",
                     "dec/sp0/kernel", "rew/head/logits/kernel", "con/head/logit/kernel",
                     "pol/head/action/logits/kernel", "val/head/logits/kernel",
                     "slowval/head/logits/kernel"):
        assert expected in names, (expected, sorted(names))
    assert not any(name.startswith(("opt/", "retnorm/")) for name in names)


def test_adapter_params_round_trip_is_exact(official_agent):
    before = official_agent.get_params()
    official_agent.set_params(before)
    after = official_agent.get_params()
    assert before.keys() == after.keys()
    for name in before:
        assert after[name].dtype == before[name].dtype, name
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)


def test_adapter_reinjected_params_give_bit_identical_losses(
    official_agent, batch, reference_losses
):
    official_agent.set_params(official_agent.get_params())
    again = official_agent.losses(batch, seed=0)
    for term in LOSS_TERMS:
        np.testing.assert_array_equal(again.losses[term], reference_losses.losses[term], term)
    assert again.total == reference_losses.total


def test_adapter_losses_depend_on_the_given_params(official_agent, batch, reference_losses):
    variables = dict(official_agent.variables)
    kernel = variables["dec/imgout/kernel"]
    variables["dec/imgout/kernel"] = kernel + np.float32(0.1)
    changed = official_agent.losses(batch, seed=0, variables=variables)
    assert not np.allclose(changed.losses["image"], reference_losses.losses["image"])


def test_adapter_losses_cover_every_term_per_element(reference_losses, batch):
    losses = reference_losses.losses
    assert set(losses) == LOSS_TERMS
    batch_size, length = batch["is_first"].shape
    context = 1  # replay_context of the official defaults
    for term in LOSS_TERMS - {"repval"}:
        assert losses[term].shape == (batch_size, length - context), term
    # The replay value loss drops the last step: its lambda return needs a successor.
    assert losses["repval"].shape == (batch_size, length - context - 1)
    assert all(np.isfinite(v).all() for v in losses.values())
    print("official losses:", {k: float(v.mean()) for k, v in sorted(losses.items())})


def test_adapter_independent_agent_reproduces_the_losses(
    obs_space, act_space, batch, reference_losses, official_agent
):
    """A second agent built from scratch with the same seed gives the same numbers: the
    values come from running the official code, not from anything cached."""
    other = OfficialAgent(obs_space, act_space, preset=operating_point.BASE_PRESET,
                          overrides=operating_point.OVERRIDES)
    other.init(seed=0)
    for name, value in official_agent.get_params().items():
        np.testing.assert_array_equal(other.get_params()[name], value, err_msg=name)
    result = other.losses(batch, seed=0)
    for term in LOSS_TERMS:
        np.testing.assert_array_equal(result.losses[term], reference_losses.losses[term], term)


def test_adapter_deterministic_mode_ignores_the_seed(official_agent, batch, reference_losses):
    other_seed = official_agent.losses(batch, seed=123)
    assert other_seed.total == reference_losses.total


def test_adapter_stochastic_mode_depends_on_the_seed(official_agent, batch):
    first = official_agent.losses(batch, seed=1, deterministic=False)
    again = official_agent.losses(batch, seed=1, deterministic=False)
    second = official_agent.losses(batch, seed=2, deterministic=False)
    assert first.total == again.total
    assert first.total != second.total


def test_adapter_train_step_is_finite_and_updates(official_agent, batch):
    held = official_agent.variables
    # The official learning rate warms up linearly from 0: at schedule count 0 the update is
    # exactly zero, so step from the middle of the warmup.
    before = {**held, "opt/state/3/count": np.asarray(500, held["opt/state/3/count"].dtype)}
    after, metrics = official_agent.train_step(batch, seed=0, variables=before)
    assert after.keys() == before.keys()
    assert int(metrics["opt/updates"]) == int(before["opt/step/value"]) + 1
    assert all(np.isfinite(v).all() for v in after.values() if v.dtype.kind == "f")
    assert np.isfinite(metrics["opt/loss"])
    changed = [k for k in official_agent.get_params() if not np.array_equal(after[k], before[k])]
    assert any(k.startswith("dyn/") for k in changed), changed
    assert any(k.startswith("slowval/") for k in changed), "slow critic did not move"
    assert official_agent.variables is held, "train_step must not change held variables"


def test_adapter_grads_cover_every_term_and_trained_param(official_agent, batch):
    grads = official_agent.loss_grads(batch, seed=0)
    assert set(grads) == LOSS_TERMS
    trained = {k for k in official_agent.get_params() if not k.startswith("slowval/")}
    for term, per_param in grads.items():
        assert set(per_param) == trained, term
        assert all(np.isfinite(g).all() for g in per_param.values()), term
    # The decoder is trained by the reconstruction loss and nothing in the actor-critic.
    assert np.abs(grads["image"]["dec/imgout/kernel"]).max() > 0
    assert np.abs(grads["policy"]["dec/imgout/kernel"]).max() == 0


# ------------------------------------------------------------------ bad inputs


@pytest.mark.parametrize(
    "corrupt, message",
    [
        pytest.param(lambda p: p.pop("dyn/dyngru/kernel"), "missing parameter 'dyn/dyngru/kernel'",
                     id="missing"),
        pytest.param(lambda p: p.__setitem__("dyn/extra/kernel", np.zeros(3, np.float32)),
                     "unknown parameter 'dyn/extra/kernel'", id="unknown"),
        pytest.param(lambda p: p.__setitem__("enc/cnn0/kernel", np.zeros((3, 3), np.float32)),
                     "'enc/cnn0/kernel' has shape (3, 3)", id="shape"),
        pytest.param(lambda p: p.__setitem__("rew/head/logits/bias",
                                             p["rew/head/logits/bias"].astype(np.float64)),
                     "'rew/head/logits/bias' has dtype float64", id="dtype"),
        pytest.param(lambda p: p["con/head/logit/kernel"].__setitem__((0, 0), np.nan),
                     "'con/head/logit/kernel' has 1 non-finite", id="nan"),
    ],
)
def test_adapter_rejects_bad_params(official_agent, corrupt, message):
    params = official_agent.get_params()
    corrupt(params)
    with pytest.raises(ParameterError) as error:
        official_agent.set_params(params)
    assert message in str(error.value)


def test_adapter_names_every_bad_param_at_once(official_agent):
    params = official_agent.get_params()
    params.pop("dyn/dyngru/kernel")
    params["enc/cnn0/kernel"] = np.zeros(1, np.float32)
    with pytest.raises(ParameterError, match="2 problem") as error:
        official_agent.set_params(params)
    assert "dyn/dyngru/kernel" in str(error.value) and "enc/cnn0/kernel" in str(error.value)


@pytest.mark.parametrize(
    "corrupt, message",
    [
        pytest.param(lambda b: b.pop("is_first"), "missing key 'is_first'", id="missing"),
        pytest.param(lambda b: b.__setitem__("image", b["image"].astype(np.float32)),
                     "'image' has dtype float32", id="dtype"),
        pytest.param(lambda b: b.__setitem__("image", b["image"][:, :, :63, :63]),
                     "'image' has per-step shape (63, 63, 3)", id="odd-image"),
        pytest.param(lambda b: b["reward"].__setitem__((0, 3), np.nan),
                     "'reward' has non-finite", id="nan"),
        pytest.param(lambda b: b.__setitem__("reward", b["reward"][:, :5]),
                     "disagree on the leading", id="length"),
    ],
)
def test_adapter_rejects_bad_batches(official_agent, batch, corrupt, message):
    bad = {k: v.copy() for k, v in batch.items()}
    corrupt(bad)
    with pytest.raises(BatchError) as error:
        official_agent.losses(bad)
    assert message in str(error.value)


def test_adapter_refuses_an_unverified_sdist(tmp_path, monkeypatch):
    fake = tmp_path / "dreamer-3.3.1.tar.gz"
    fake.write_bytes(b"not the official sdist")
    monkeypatch.setenv("DREAMER_PARITY_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("DREAMER_PARITY_SDIST", str(fake))
    with pytest.raises(ReferenceUnavailable, match="refusing to run unverified code"):
        source_lib.ensure_sources()
    assert not source_lib.sources_dir().exists()


def test_adapter_unavailable_index_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("DREAMER_PARITY_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DREAMER_PARITY_SDIST", raising=False)

    def no_network(workdir):
        raise OSError("network is unreachable")

    monkeypatch.setattr(source_lib, "_download", no_network)
    with pytest.raises(ReferenceUnavailable) as error:
        source_lib.ensure_sources()
    assert "network is unreachable" in str(error.value)
    assert source_lib.FETCH_COMMAND in str(error.value)


def _retnorm_update(model, returns):
    return model.retnorm(returns, True)


def _observe(model, carry, tokens, action, reset):
    return model.dyn.observe(carry, tokens, action, reset, False)


def test_adapter_apply_updates_official_state(official_agent):
    """`apply` runs any official method on the held variables; with modify=True it returns
    the updated variables (here: the return normaliser's percentile EMA, rate 0.01)."""
    returns = np.linspace(-10, 10, 101, dtype=np.float32).reshape(1, 101)
    (offset, scale), variables = official_agent.apply(_retnorm_update, returns, modify=True)
    lo, hi = 0.01 * np.percentile(returns, 5), 0.01 * np.percentile(returns, 95)
    np.testing.assert_allclose(variables["retnorm/lo/value"], lo, rtol=1e-6)
    np.testing.assert_allclose(variables["retnorm/hi/value"], hi, rtol=1e-6)
    np.testing.assert_allclose([offset, scale], [lo, max(1.0, hi - lo)], rtol=1e-6)
    assert official_agent.variables["retnorm/lo/value"] == 0, "held variables must not change"


def test_adapter_apply_runs_the_official_rssm(official_agent):
    rssm = official_agent.config.dyn.rssm
    batch, length = 2, 3
    carry = {"deter": np.zeros((batch, rssm.deter), np.float32),
             "stoch": np.zeros((batch, rssm.stoch, rssm.classes), np.float32)}
    # 128: the encoder's tokens at depth 2 (debug, parity): 8 channels at 4x4 after four 2x
    # poolings of 64x64.
    tokens = np.random.default_rng(0).standard_normal((batch, length, 128)).astype(np.float32)
    action = {"action": np.zeros((batch, length), np.int32)}
    reset = np.zeros((batch, length), bool)
    _, entries, feat = official_agent.apply(_observe, carry, tokens, action, reset)
    assert feat["logit"].shape == (batch, length, rssm.stoch, rssm.classes)
    assert np.isfinite(feat["deter"]).all()
    assert entries["deter"].shape == (batch, length, rssm.deter)
    onehot = feat["stoch"].sum(-1)
    np.testing.assert_allclose(onehot, 1.0, rtol=1e-6)  # each latent one-hot


def test_adapter_layout_fixture_is_current(obs_space, act_space):
    """fixtures/official_param_layout_debug.txt is what the official code produces today at
    the debug preset (regenerate with `python fixtures/make_fixtures.py`)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "fixtures" / "make_fixtures.py"
    spec = importlib.util.spec_from_file_location("make_fixtures", path)
    make_fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_fixtures)
    debug_agent = OfficialAgent(obs_space, act_space, preset="debug")
    debug_agent.init(seed=0)
    assert make_fixtures.layout_text(debug_agent) == make_fixtures.LAYOUT.read_text()


def _head_outputs(model, data):
    """The official networks' outputs on a batch, as the official `Agent.loss` computes them:
    decoder output before its sigmoid, reward and continuation logits, posterior and prior
    logits, for the steps after the replay context."""
    found = networks.module_inputs(model, data)
    obs, feat = found["obs"], found["feat"]
    dec_carry = model.init_train(len(data["reward"]))[2]
    _, _, recons = model.dec(dec_carry, feat, obs["is_first"], True)
    inp = model.feat2tensor(feat)
    mean = recons["image"].output.mean
    return {"image_logits": jax.numpy.log(mean) - jax.numpy.log1p(-mean),
            "reward_logits": model.rew(inp, 2).logits, "con_logit": model.con(inp, 2).logit,
            "post_logits": feat["logit"], "prior_logits": model.dyn._prior(feat["deter"]),
            **{k: obs[k] for k in ("image", "reward", "is_first", "is_last", "is_terminal")}}


def test_adapter_world_model_terms_from_outputs_match_the_agent(official_agent,
                                                                 shared_variables, batch):
    """The adapter's world-model terms from outputs (its glue between official output types)
    give the official agent's own losses when fed the official networks' outputs. Tolerance:
    the decoder output goes back through logit(sigmoid(x)), which loses ~1e-7 relative."""
    from reference_adapter.world_model_terms import world_model_terms

    outputs = official_agent.apply(_head_outputs, batch, variables=shared_variables)
    ours = world_model_terms(official_agent, outputs)
    official = official_agent.losses(batch, variables=shared_variables).losses
    for term in ("image", "rew", "con", "dyn", "rep"):
        np.testing.assert_allclose(ours[term], official[term], rtol=1e-5, atol=1e-5,
                                   err_msg=term)
