"""`python -m parity_tests init` writes a target module that imports and runs at once (every
piece a stub, none provided), with a stub per documented piece, and refuses to overwrite;
`python -m parity_tests pieces` lists what a target provides and lacks, and names attributes
the suite would ignore (a misspelt piece)."""

from __future__ import annotations

import importlib
import sys
from types import SimpleNamespace

import pytest

from parity_tests import __main__ as commands
from parity_tests import provided
from parity_tests.pieces import PIECES


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m == "mypkg" or m.startswith("mypkg.")]:
        del sys.modules[name]


def test_init_writes_a_module_of_stubs_that_provides_nothing_yet(in_tmp, capsys):
    assert commands.main(["init", "mypkg/parity.py"]) == 0
    (in_tmp / "mypkg" / "__init__.py").write_text("")
    assert "--target mypkg.parity:make_target --registry mypkg/parity_registry.toml" in (
        capsys.readouterr().out)
    module = importlib.import_module("mypkg.parity")
    target = module.make_target()
    assert vars(target) == {"name": "mypkg"}
    for piece in PIECES:
        with pytest.raises(NotImplementedError, match=piece.name):
            getattr(module, piece.name)(*["x"] * len([a for a in piece.args.split(",") if a]))
    assert "[[difference]]" in (in_tmp / "mypkg" / "parity_registry.toml").read_text()
    lines, strange = provided.listing(target)
    assert lines[0] == f"provides 0 of {len(PIECES)} pieces" and not strange


def test_a_filled_in_stub_joins_the_target_through_provide(in_tmp):
    commands.main(["init", "mypkg/parity.py"])
    path = in_tmp / "mypkg" / "parity.py"
    path.write_text(path.read_text().replace('PROVIDE: tuple[str, ...] = ()',
                                             'PROVIDE = ("twohot_bins",)'))
    target = importlib.import_module("mypkg.parity").make_target()
    lines, _ = provided.listing(target)
    assert lines[:2] == [f"provides 1 of {len(PIECES)} pieces", "  + twohot_bins"]
    assert any(line.split()[:2] == ["-", "lambda_return"] for line in lines)


def test_init_never_overwrites(in_tmp, capsys):
    (in_tmp / "parity.py").write_text("mine")
    with pytest.raises(SystemExit) as stopped:
        commands.main(["init", "parity.py"])
    assert stopped.value.code == 2 and (in_tmp / "parity.py").read_text() == "mine"
    assert "parity.py exists; nothing was written" in capsys.readouterr().err
    assert not (in_tmp / "parity_registry.toml").exists()


def test_pieces_names_an_attribute_the_suite_would_ignore():
    target = SimpleNamespace(name="x", lamda_return=lambda **_: None, reductions={})
    lines, strange = provided.listing(target)
    assert strange == ["lamda_return"]
    assert lines[-1] == ("unknown attribute 'lamda_return': not a piece or a declaration, the "
                         "suite ignores it (did you mean 'lambda_return'?)")


def test_the_pieces_command_exits_1_on_ignored_attributes(monkeypatch, capsys):
    module = SimpleNamespace(make=lambda: SimpleNamespace(twohot_bins=len, typo=1))
    monkeypatch.setitem(sys.modules, "fake_target_module", module)
    assert commands.main(["pieces", "--target", "fake_target_module:make"]) == 1
    out = capsys.readouterr().out
    assert "  + twohot_bins" in out and "unknown attribute 'typo'" in out


def test_the_declarations_listed_as_known_are_the_suite_s():
    from parity_tests.declarations import NAMES

    assert set(provided.OTHER) == {"name", *NAMES}
