"""Reproducible outputs: two builds of the same inputs give the same bytes, PDF and EPUB."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from conftest import epubcheck_result

from anthology.build import build


@pytest.fixture(scope="module")
def second_build(tiny_book, tmp_path_factory):
    """The tiny book built again, into another folder, without the cache: (first outputs, second outputs)."""
    manifest, first = tiny_book
    out = tmp_path_factory.mktemp("again")
    return first, build(manifest, out, use_cache=False).outputs


@pytest.mark.parametrize("kind", ["pdf", "epub"])
def test_two_builds_are_byte_identical(second_build, kind):
    first, second = second_build
    assert Path(first[kind]).name == Path(second[kind]).name
    assert Path(first[kind]).read_bytes() == Path(second[kind]).read_bytes(), \
        f"two builds of the same book gave different {kind} files"


def test_epub_zip_is_stable_and_valid(second_build):
    """mimetype first and stored; every entry with the same fixed date; and EPUBCheck still agrees."""
    _, second = second_build
    with zipfile.ZipFile(second["epub"]) as z:
        infos = z.infolist()
    assert infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED
    assert not infos[0].extra, "the mimetype entry has no extra field"
    assert len({i.date_time for i in infos}) == 1, "every entry carries the same fixed date"
    assert infos[0].date_time[0] >= 1980
    result = epubcheck_result(second["epub"])
    assert result.valid, [m for m in result.messages if m.level in ("ERROR", "FATAL")]
