"""The cached official source is verified on every load, not only at its first unpack: an
edited, added or removed file is refused (naming it), a tampered DREAMER_PARITY_SDIST is
refused even when the cache is filled, and fetch errors say what failed. Built on a small fake
sdist whose digests are pinned for the test, so nothing is downloaded."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from reference_adapter import source
from reference_adapter.errors import ReferenceUnavailable

FILES = {"dreamerv3/agent.py": b"AGENT = 1\n", "dreamerv3/__init__.py": b"",
         "embodied/__init__.py": b"x = 2\n", "PKG-INFO": b"Name: dreamer\n"}


def _sdist(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"dreamer-3.3.1/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def pinned(tmp_path, monkeypatch) -> Path:
    """A fake sdist with its archive and tree digests pinned; an empty cache."""
    sdist = _sdist(tmp_path / "dreamer-3.3.1.tar.gz", FILES)
    tree = {name: source.hashlib.sha256(data).hexdigest() for name, data in FILES.items()}
    monkeypatch.setattr(source, "SHA256", source._sha256(sdist))
    monkeypatch.setattr(source, "TREE_SHA256", source._tree_digest(tree))
    monkeypatch.setenv("DREAMER_PARITY_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("DREAMER_PARITY_SDIST", str(sdist))
    return sdist


def test_unpack_writes_a_manifest_and_a_clean_cache_verifies(pinned):
    target = source.ensure_sources()
    assert (target / "dreamerv3" / "agent.py").read_bytes() == FILES["dreamerv3/agent.py"]
    assert source.manifest_path().is_file()
    (target / "dreamerv3" / "__pycache__").mkdir()
    (target / "dreamerv3" / "__pycache__" / "agent.cpython-311.pyc").write_bytes(b"bytecode")
    assert source.ensure_sources() == target  # bytecode caches are Python's, not the sdist's


@pytest.mark.parametrize("tamper, named", [
    (lambda t: (t / "dreamerv3" / "agent.py").write_text("AGENT = 2\n"),
     "changed dreamerv3/agent.py"),
    (lambda t: (t / "dreamerv3" / "evil.py").write_text("import os\n"), "added dreamerv3/evil.py"),
    (lambda t: (t / "embodied" / "__init__.py").unlink(), "missing embodied/__init__.py"),
], ids=["edited", "added", "removed"])
def test_a_changed_cache_is_refused_naming_the_file(pinned, tamper, named):
    """Edited cached sources were accepted forever after the first unpack."""
    target = source.ensure_sources()
    tamper(target)
    with pytest.raises(ReferenceUnavailable) as refused:
        source.ensure_sources()
    assert str(refused.value) == (
        f"the cached official sources at {target} are not the verified dreamer==3.3.1 "
        f"({named}); refusing to run them. Delete {target} and run "
        "`python -m reference_adapter.fetch` to unpack the verified sdist again")


def test_a_changed_cache_is_refused_without_its_manifest(pinned):
    target = source.ensure_sources()
    source.manifest_path().unlink()
    (target / "dreamerv3" / "agent.py").write_text("AGENT = 2\n")
    with pytest.raises(ReferenceUnavailable, match="no manifest to name the changed files"):
        source.ensure_sources()


def test_a_cache_unpacked_before_manifests_gets_one(pinned):
    source.ensure_sources()
    source.manifest_path().unlink()
    source.ensure_sources()  # the pinned tree digest alone decides
    assert source.manifest_path().is_file()


def test_a_tampered_local_sdist_is_refused_with_a_filled_cache(pinned, tmp_path, monkeypatch):
    source.ensure_sources()
    tampered = _sdist(tmp_path / "tampered.tar.gz", {**FILES, "dreamerv3/agent.py": b"EVIL\n"})
    monkeypatch.setenv("DREAMER_PARITY_SDIST", str(tampered))
    with pytest.raises(ReferenceUnavailable, match="tampered.tar.gz has sha256 .*refusing to "
                                                   "run unverified code"):
        source.ensure_sources()


def test_a_directory_as_local_sdist_is_one_clear_error(pinned, tmp_path, monkeypatch):
    monkeypatch.setenv("DREAMER_PARITY_SDIST", str(tmp_path))
    with pytest.raises(ReferenceUnavailable, match=r"DREAMER_PARITY_SDIST=\S+ is a directory; "
                                                   "point it at the file dreamer-3.3.1.tar.gz"):
        source.ensure_sources()


def test_an_unreachable_index_is_named_as_such(tmp_path, monkeypatch):
    """It said 'the package index has no sdist for dreamer==3.3.1 (found None)'."""
    unearth = pytest.importorskip("unearth")

    class Unreachable:
        def __init__(self, index_urls):
            pass

        def find_best_match(self, requirement):
            return type("Result", (), {"best": None})()

    monkeypatch.setattr(unearth, "PackageFinder", Unreachable)
    monkeypatch.setenv("DREAMER_PARITY_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DREAMER_PARITY_SDIST", raising=False)
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    with pytest.raises(ReferenceUnavailable, match=r"no dreamer==3.3.1 found at the default "
                                                   r"index \(PyPI\): the index is unreachable"):
        source.ensure_sources()


def test_the_pinned_tree_digest_is_the_real_sdist(monkeypatch):
    """Where the real sources are cached (every machine that ran the parity suite), they
    verify against the committed TREE_SHA256."""
    monkeypatch.delenv("DREAMER_PARITY_SDIST", raising=False)
    if not source.sources_dir().is_dir():
        pytest.skip(f"no official sources cached at {source.sources_dir()}")
    source.verify_sources(source.sources_dir())
