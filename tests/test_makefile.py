"""Every Makefile target that names no file is .PHONY: a file or directory called like the
target (a `mutants` directory, say) would otherwise make `make` skip it as up to date."""

from __future__ import annotations

import re
from pathlib import Path

MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"


def test_every_command_target_is_phony():
    text = MAKEFILE.read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):(?!=)", text, flags=re.MULTILINE))
    (phony,) = re.findall(r"^\.PHONY:(.*)$", text, flags=re.MULTILINE)
    assert targets - set(phony.split()) == set()
    assert "mutants" in targets
