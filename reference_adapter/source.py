"""Obtain the official DreamerV3 sources: the PyPI sdist `dreamer==3.3.1`.

pip cannot install that sdist (its setup.py reads a requirements.txt the sdist does not ship),
so it is downloaded with an index client (`unearth`, which uses the same default index as pip
unless PIP_INDEX_URL is set), verified against a pinned sha256, unpacked into a cache directory
and put on `sys.path` by `loader.py`. Nothing of it is ever copied into this repository.

The unpacked tree is verified again on every load, against a second pinned digest
(TREE_SHA256, over every file's path and sha256), so an edited or added file in the cache is
refused instead of trusted forever; a manifest of the file digests, written at unpack beside
the tree, lets the refusal name the files that changed. Python's own bytecode caches
(`__pycache__`) are not covered: Python rewrites them from the sources it finds changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from .errors import ReferenceUnavailable

NAME = "dreamer"
VERSION = "3.3.1"
SHA256 = "b6dca5e1039bb632b48421ea0e2722b2d06557b2e94b24669272c69d6b983d03"
# _tree_digest of the sdist unpacked (40 files), computed from the archive with SHA256 above.
TREE_SHA256 = "b08b510e09cb626e27e58e0c098de9a7004d9a85f86493597991d0612c9aa2df"
FETCH_COMMAND = "python -m reference_adapter.fetch"


def cache_dir() -> Path:
    root = os.environ.get("DREAMER_PARITY_CACHE") or Path.home() / ".cache" / "dreamer-parity"
    return Path(root)


def sources_dir() -> Path:
    """Where the unpacked sdist lives once fetched (holds `dreamerv3/` and `embodied/`)."""
    return cache_dir() / f"{NAME}-{VERSION}"


def manifest_path() -> Path:
    """{relative path: sha256} of the unpacked files, written when they are unpacked."""
    return cache_dir() / f"{NAME}-{VERSION}.manifest.json"


def _tree_files(root: Path) -> dict[str, str]:
    """{path relative to root: sha256} of every file under root but bytecode caches."""
    files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [name for name in dirnames if name != "__pycache__"]
        for name in filenames:
            path = Path(dirpath) / name
            files[path.relative_to(root).as_posix()] = _sha256(path)
    return files


def _tree_digest(files: dict[str, str]) -> str:
    lines = "".join(f"{path}\0{digest}\n" for path, digest in sorted(files.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def _differences(files: dict[str, str]) -> str:
    """What differs from the manifest written at unpack, in words."""
    try:
        expected = json.loads(manifest_path().read_text())
    except (OSError, ValueError):
        return "no manifest to name the changed files"
    parts = [(f"{what} {', '.join(paths[:5])}" + (f" and {len(paths) - 5} more"
                                                 if len(paths) > 5 else ""))
             for what, paths in (
                 ("changed", sorted(p for p in files.keys() & expected.keys()
                                    if files[p] != expected[p])),
                 ("added", sorted(files.keys() - expected.keys())),
                 ("missing", sorted(expected.keys() - files.keys()))) if paths]
    return "; ".join(parts) or "the manifest itself was edited"


def _write_manifest(files: dict[str, str]) -> None:
    """Atomically, under a name of its own, so concurrent loads do not collide."""
    with tempfile.NamedTemporaryFile("w", dir=cache_dir(), suffix=".tmp", delete=False) as tmp:
        tmp.write(json.dumps(files, indent=1, sort_keys=True))
    os.replace(tmp.name, manifest_path())


def verify_sources(target: Path) -> None:
    """Refuse a cached tree that is not the pinned sdist's, file for file. A verified tree
    unpacked before manifests existed gets one."""
    files = _tree_files(target)
    if _tree_digest(files) == TREE_SHA256:
        if not manifest_path().exists():
            try:
                _write_manifest(files)
            except OSError:  # a read-only cache: the digest still verified it
                pass
    else:
        raise ReferenceUnavailable(
            f"the cached official sources at {target} are not the verified {NAME}=={VERSION} "
            f"({_differences(files)}); refusing to run them. Delete {target} and run "
            f"`{FETCH_COMMAND}` to unpack the verified sdist again")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(target_dir: Path) -> Path:
    try:
        from unearth import PackageFinder
    except ImportError as error:
        raise ReferenceUnavailable(
            "cannot download the official sdist: the index client `unearth` is not installed; "
            "run `pip install -e '.[reference]'`"
        ) from error
    index = os.environ.get("PIP_INDEX_URL")
    finder = PackageFinder(index_urls=[index] if index else ())
    match = finder.find_best_match(f"{NAME}=={VERSION}").best
    where = index or "the default index (PyPI)"
    if match is None:  # unearth logs and skips an index it cannot reach
        raise ReferenceUnavailable(
            f"no {NAME}=={VERSION} found at {where}: the index is unreachable or does not "
            f"have it. Check the network (`pip download {NAME}=={VERSION} --no-deps "
            f"--no-binary :all:` shows the error), or set DREAMER_PARITY_SDIST to a local "
            f"{NAME}-{VERSION}.tar.gz, then run `{FETCH_COMMAND}`"
        )
    if not match.link.filename.endswith(".tar.gz"):
        raise ReferenceUnavailable(
            f"{where} offers {match.link.filename} for {NAME}=={VERSION}, not the sdist; "
            f"set DREAMER_PARITY_SDIST to a local copy of {NAME}-{VERSION}.tar.gz"
        )
    print(f"[reference] downloading {match.link.filename} ...", file=sys.stderr, flush=True)
    return finder.download_and_unpack(match.link, target_dir / "unpacked", target_dir)


def _local_sdist() -> Path | None:
    """DREAMER_PARITY_SDIST, checked: a file with the pinned sha256 (also when the cache is
    already filled: a file named there is never silently ignored)."""
    local = os.environ.get("DREAMER_PARITY_SDIST")
    if not local:
        return None
    path = Path(local)
    if not path.is_file():
        raise ReferenceUnavailable(
            f"DREAMER_PARITY_SDIST={local} is {'a directory' if path.is_dir() else 'missing'}; "
            f"point it at the file {NAME}-{VERSION}.tar.gz, or unset it to download")
    _check_sdist(path)
    return path


def _check_sdist(archive: Path) -> None:
    digest = _sha256(archive)
    if digest != SHA256:
        raise ReferenceUnavailable(
            f"{archive} has sha256 {digest}, expected {SHA256} for {NAME}=={VERSION}; "
            "refusing to run unverified code"
        )


def _download_to(workdir: Path) -> Path:
    try:
        _download(workdir)
    except ReferenceUnavailable:
        raise
    except Exception as error:  # network or index failure: say what was tried
        raise ReferenceUnavailable(
            f"downloading {NAME}=={VERSION} from the package index failed: {error!r}. "
            f"Check the network, or set DREAMER_PARITY_SDIST to a local "
            f"{NAME}-{VERSION}.tar.gz, then run `{FETCH_COMMAND}`"
        ) from error
    archive = workdir / f"{NAME}-{VERSION}.tar.gz"
    if not archive.exists():
        raise ReferenceUnavailable(f"expected the sdist at {archive}, found nothing")
    _check_sdist(archive)
    return archive


def ensure_sources() -> Path:
    """Return the unpacked official sources, fetching and verifying them on first use and
    verifying the unpacked tree on every call."""
    target = sources_dir()
    local = _local_sdist()
    if not target.exists():
        _unpack(local, target)
    verify_sources(target)
    return target


def _unpack(local: Path | None, target: Path) -> None:
    cache_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        archive = local or _download_to(Path(tmp))
        unpack_root = Path(tmp) / "verified"
        with tarfile.open(archive) as tar:
            tar.extractall(unpack_root, filter="data")
        (unpacked,) = unpack_root.iterdir()
        staged = Path(tmp) / "staged"
        shutil.move(str(unpacked), staged)
        _write_manifest(_tree_files(staged))
        staged.rename(target)  # atomic: a crash never leaves a half-unpacked cache
    print(f"[reference] verified sha256 and unpacked to {target}", file=sys.stderr, flush=True)
