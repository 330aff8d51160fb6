"""Data-parallel training (reimpl/train/sharding.py) on 4 forced host devices. XLA_FLAGS must
be set before jax is imported, so the sharded runs happen in a subprocess (tests/sharded_check.py,
one run of about 2.5 min on the loaded 2-core machine); the refusals run here, on this
process's one device.

Tolerances, relative to each leaf's largest magnitude (float32 epsilon 1.2e-7), measured on
the configuration of sharded_check.py:
- one update, sharded vs single-device on the same global batch: 8.4e-7 at worst (the
  metric ent/action; parameters and optimizer state less), from the order of the gradient
  all-reduce and the per-device partial sums: allowed 2e-6;
- one collect (16 env steps): 1.3e-7 at worst (the policy carry's deter: per-device matmuls of
  1 env instead of 4), every action, observation and counter equal: allowed 1e-6;
- one fused iteration (a collect and 2 updates in one program): 2.9e-6 at worst (the Adam
  first moment of enc/mlp0/kernel, after two updates whose differences compound): allowed
  1e-5.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reimpl.train import run as run_lib
from reimpl.train.__main__ import main

UPDATE_TOLERANCE = 2e-6
COLLECT_TOLERANCE = 1e-6
FUSED_TOLERANCE = 1e-5
HELPER = Path(__file__).with_name("sharded_check.py")


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sharded")
    done = subprocess.run([sys.executable, str(HELPER), str(workdir)], capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_sharded_update_equals_the_single_device_update(sharded):
    update = sharded["update"]
    assert sharded["device_count"] == 4 and update["devices"] == 4
    assert update["others_equal"]
    assert update["worst_relative"] <= UPDATE_TOLERANCE, update


def test_sharded_collect_equals_the_unsharded_one(sharded):
    collect = sharded["collect"]
    assert collect["replay_split"] == "P('data',)"
    assert collect["others_equal"]
    assert collect["worst_relative"] <= COLLECT_TOLERANCE, collect


def test_sharded_fused_iteration_equals_the_unsharded_one(sharded):
    fused = sharded["fused"]
    assert fused["others_equal"]
    assert fused["worst_relative"] <= FUSED_TOLERANCE, fused


def test_sharded_update_gathers_only_the_sampled_sequences(sharded):
    assert sharded["replay_gathered"] == []


def test_train_on_four_devices_checkpoints_and_resumes_exactly(sharded):
    train = sharded["train"]
    assert train["codes"] == [0, 0, 0]
    assert train["updates"] == [0, 0, 7, 6]
    assert train["checkpoints_equal"]


@pytest.mark.parametrize("argv, message", [
    (["--num-envs", "8", "--devices", "3"], "--devices 3 does not divide --num-envs 8"),
    (["--num-envs", "6", "--devices", "3"],
     "--devices 3 does not divide the batch size 8 (set it with --agent batch_size=...)"),
], ids=["envs", "batch"])
def test_devices_that_do_not_divide_are_refused_at_parse_time(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as stopped:
        main(["--preset", "debug", "--logdir", str(tmp_path), *argv])
    assert stopped.value.code == 2
    assert capsys.readouterr().err == f"python -m reimpl.train: error: {message} (see --help)\n"
    assert not list(tmp_path.iterdir())


def test_more_devices_than_present_are_refused_before_the_env(tmp_path, monkeypatch):
    def build(*args):
        raise AssertionError("built the env before refusing")

    monkeypatch.setattr(run_lib, "make_spec", build)
    with pytest.raises(SystemExit) as stopped:
        main(["--preset", "debug", "--num-envs", "8", "--devices", "8", "--logdir",
              str(tmp_path)])
    assert stopped.value.code == (
        "[train] --devices 8: only 1 cpu device(s) present (on CPU, XLA_FLAGS="
        "--xla_force_host_platform_device_count=8 set before Python starts makes that many)")
    assert not list(tmp_path.iterdir())
