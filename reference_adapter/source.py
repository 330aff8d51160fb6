"""Obtain the official DreamerV3 sources: the PyPI sdist `dreamer==3.3.1`.

pip cannot install that sdist (its setup.py reads a requirements.txt the sdist does not ship),
so it is downloaded with an index client (`unearth`, which uses the same default index as pip
unless PIP_INDEX_URL is set), verified against a pinned sha256, unpacked into a cache directory
and put on `sys.path` by `loader.py`. Nothing of it is ever copied into this repository.
"""

from __future__ import annotations

import hashlib
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
FETCH_COMMAND = "python -m reference_adapter.fetch"


def cache_dir() -> Path:
    root = os.environ.get("DREAMER_PARITY_CACHE") or Path.home() / ".cache" / "dreamer-parity"
    return Path(root)


def sources_dir() -> Path:
    """Where the unpacked sdist lives once fetched (holds `dreamerv3/` and `embodied/`)."""
    return cache_dir() / f"{NAME}-{VERSION}"


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
    if match is None or not match.link.filename.endswith(".tar.gz"):
        raise ReferenceUnavailable(
            f"the package index has no sdist for {NAME}=={VERSION} (found {match}); "
            f"set DREAMER_PARITY_SDIST to a local copy of {NAME}-{VERSION}.tar.gz"
        )
    print(f"[reference] downloading {match.link.filename} ...", file=sys.stderr, flush=True)
    return finder.download_and_unpack(match.link, target_dir / "unpacked", target_dir)


def _local_or_download(workdir: Path) -> Path:
    local = os.environ.get("DREAMER_PARITY_SDIST")
    if local:
        return Path(local)
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
    return workdir / f"{NAME}-{VERSION}.tar.gz"


def ensure_sources() -> Path:
    """Return the unpacked official sources, fetching and verifying them on first use."""
    target = sources_dir()
    if (target / "dreamerv3" / "agent.py").exists():
        return target
    cache_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        archive = _local_or_download(Path(tmp))
        if not archive.exists():
            raise ReferenceUnavailable(f"expected the sdist at {archive}, found nothing")
        digest = _sha256(archive)
        if digest != SHA256:
            raise ReferenceUnavailable(
                f"{archive} has sha256 {digest}, expected {SHA256} for {NAME}=={VERSION}; "
                "refusing to run unverified code"
            )
        unpack_root = Path(tmp) / "verified"
        with tarfile.open(archive) as tar:
            tar.extractall(unpack_root, filter="data")
        (unpacked,) = unpack_root.iterdir()
        staged = Path(tmp) / "staged"
        shutil.move(str(unpacked), staged)
        staged.rename(target)  # atomic: a crash never leaves a half-unpacked cache
    print(f"[reference] verified sha256 and unpacked to {target}", file=sys.stderr, flush=True)
    return target
