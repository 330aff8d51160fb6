"""A single-configuration target (parity_tests/test_config.py, `follows_preset`): only the preset
it follows is compared, the others are reported as not provided, and its real differences are
reported apart from the official keys it does not state (`config/not-stated`).

Measured on the target below before the declaration existed: all 10 config checks failed (one
per official preset and the operating point), size12m's message listing its one real
difference among its 6 'not stated' keys, the others adding every size difference.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from parity_tests import declarations
from reference_adapter.official_config import PRESETS

ROOT = Path(__file__).resolve().parents[1]

# Follows size12m with a lambda of its own and no statement of the value/advantage
# normalisers (it has none).
SINGLE_CONFIG = '''
from types import SimpleNamespace
from parity_tests.test_config import _flatten
from reference_adapter.official_config import make_config

def make():
    def official_config(preset):
        flat = _flatten(make_config("size12m"))
        flat["imag_loss.lam"] = 0.9
        return {k: v for k, v in flat.items() if not k.startswith(("valnorm.", "advnorm."))}
    return SimpleNamespace(official_config=official_config, follows_preset="size12m")
'''


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("single_config")
    (folder / "single_config.py").write_text(SINGLE_CONFIG)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(folder)])}
    report = folder / "PARITY.md"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA",
         "parity_tests/test_config.py", "--target", "single_config:make", "--parity-report",
         str(report)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return result.stdout + result.stderr, report.read_text()


def _failure(out: str, check: str) -> str:
    start = out.index(f"unregistered finding {check}:")
    return out[start:out.index("(register it", start)]


def test_only_the_followed_preset_is_compared(run):
    out, report = run
    assert "2 failed, 9 skipped" in out, out[-3000:]
    for preset in sorted(PRESETS):
        if preset != "size12m":
            assert f"| `config/{preset}` | not provided |" in report, report
    assert "| `config/parity` | not provided |" in report


def test_real_differences_stand_apart_from_unstated_keys(run):
    out, _ = run
    differing = _failure(out, "config/size12m")
    assert "1 of the 119 stated keys differ: imag_loss.lam: ours 0.9, official 0.95" in differing
    assert "valnorm" not in differing and "not stated" not in differing, differing
    unstated = _failure(out, "config/not-stated")
    assert "6 official keys not stated: advnorm.impl (official 'none');" in unstated, unstated
    assert "imag_loss.lam" not in unstated


def test_an_unknown_preset_names_the_official_ones():
    with pytest.raises(ValueError, match="target.follows_preset is 'size10m': one of the "
                                         "official presets debug, defaults, size100m"):
        declarations.follows_preset(SimpleNamespace(follows_preset="size10m"), PRESETS)
    assert declarations.follows_preset(SimpleNamespace(), PRESETS) is None
