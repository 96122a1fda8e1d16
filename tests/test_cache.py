"""The build cache: one edit, one conversion; damaged entries made again; the same bytes as without it."""
from __future__ import annotations

import contextlib
import json
import logging
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES

from anthology.build import build
from anthology.cache import FOLDER, _restore_index_anchors, _slot_index_anchors
from anthology.cli import main


@contextlib.contextmanager
def cache_log():
    """The cache's records while the block runs: (event, kind, label), and its warnings."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    logger = logging.getLogger("anthology.cache")
    handler, level = Keep(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def converted(records) -> set[tuple[str, str]]:
    return {(r.cache_label, r.cache_kind) for r in records if getattr(r, "cache_event", None) == "converted"}


def from_cache(records) -> set[tuple[str, str]]:
    return {(r.cache_label, r.cache_kind) for r in records if getattr(r, "cache_event", None) == "cached"}


ALL_CONVERSIONS = {("notes/intro.md", "ast"), ("notes/headnote-one.md", "ast"), ("texts/one.md", "ast"),
                   ("texts/two.md", "ast"), ("bibliography.yaml", "bib"), ("notes/intro.md", "html"),
                   ("notes/headnote-one.md", "html"), ("texts/one.md", "html"), ("texts/two.md", "html")}


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """A copy of the tiny book, built once with a cold cache: (manifest, records of that build)."""
    root = tmp_path_factory.mktemp("cache") / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    with cache_log() as records:
        build(root / "manifest.yaml")
    return root / "manifest.yaml", records


def outputs(manifest: Path, out: Path | None = None) -> dict[str, bytes]:
    folder = out or manifest.parent / "build"
    return {kind: (folder / f"tiny.{kind}").read_bytes() for kind in ("pdf", "epub")}


def test_first_build_converts_everything_and_fills_the_cache(book):
    manifest, records = book
    assert converted(records) == ALL_CONVERSIONS
    assert not from_cache(records)
    cache = manifest.parent / "build" / FOLDER
    assert len(list((cache / "ast").glob("*.entry"))) == 4
    assert len(list((cache / "html").glob("*.entry"))) == 4
    assert list((cache / "pdf").glob("*.entry")), "the PDF of this layout is kept"


def test_editing_one_text_converts_only_that_text(book):
    manifest, _ = book
    text = manifest.parent / "texts" / "two.md"
    text.write_text(text.read_text().replace("Soviet delegate railway", "Soviet delegates railway", 1))
    with cache_log() as records:
        result = build(manifest)
    assert converted(records) == {("texts/two.md", "ast"), ("texts/two.md", "html")}
    assert from_cache(records) == ALL_CONVERSIONS - converted(records)
    assert sorted(result.converted) == ["texts/two.md (ast)", "texts/two.md (html)"]
    # and the outputs are exactly those of a build without the cache
    with cache_log() as records:
        build(manifest, manifest.parent / "nocache", use_cache=False)
    assert converted(records) == ALL_CONVERSIONS
    assert not (manifest.parent / "nocache" / FOLDER).exists(), "--no-cache writes nothing into the cache"
    assert outputs(manifest) == outputs(manifest, manifest.parent / "nocache")


def test_a_new_index_occurrence_does_not_reconvert_the_later_texts(book):
    """Index anchors are numbered across the book; the cache keys the later texts without those numbers."""
    manifest, _ = book
    text = manifest.parent / "texts" / "one.md"
    text.write_text(text.read_text().replace("\nVote soviet ", "\nVote soviet railway soviet ", 1))
    with cache_log() as records:
        build(manifest)
    assert converted(records) == {("texts/one.md", "ast"), ("texts/one.md", "html")}
    with cache_log():
        build(manifest, manifest.parent / "nocache", use_cache=False)
    assert outputs(manifest) == outputs(manifest, manifest.parent / "nocache"), \
        "the later texts' index anchors carry their new numbers"


def test_an_unchanged_book_comes_from_the_cache(book):
    manifest, _ = book
    before = outputs(manifest)
    with cache_log() as records:
        result = build(manifest)
    assert not converted(records)
    assert ("the print layout", "pdf") in from_cache(records), "the same layout is not laid out again"
    assert "laying out the PDF" in dict(result.stages)
    assert outputs(manifest) == before


def _damage(cache: Path) -> dict[str, Path]:
    """One entry of each kind damaged a different way."""
    ast = sorted((cache / "ast").glob("*.entry"))[0]
    ast.write_bytes(ast.read_bytes()[: ast.stat().st_size // 2])               # truncated
    html = sorted((cache / "html").glob("*.entry"))[0]
    html.write_bytes(b"{not json\n" + html.read_bytes().partition(b"\n")[2])    # a bad header
    bib = next((cache / "bib").glob("*.entry"))
    data = bytearray(bib.read_bytes())
    data[-2] ^= 0x20                                                           # one bit flipped: wrong hash
    bib.write_bytes(bytes(data))
    pdf = max((cache / "pdf").glob("*.entry"), key=lambda p: p.stat().st_mtime)  # the last build's
    pdf.write_bytes(pdf.read_bytes()[:-100] + b"x" * 100)                      # the same size, other bytes
    return {"ast": ast, "html": html, "bib": bib, "pdf": pdf}


def test_damaged_entries_are_made_again_never_trusted(book):
    manifest, _ = book
    good = outputs(manifest)
    damaged = _damage(manifest.parent / "build" / FOLDER)
    with cache_log() as records:
        build(manifest)
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 4, warnings
    assert all("is damaged" in w for w in warnings)
    assert any("checksum does not match" in w for w in warnings)
    kinds = {kind for _, kind in converted(records)}
    assert {"ast", "html", "bib"} <= kinds, "each damaged conversion is made again"
    assert ("the print layout", "pdf") not in from_cache(records), "a damaged PDF is laid out again"
    assert outputs(manifest) == good
    for kind, path in damaged.items():
        assert path.exists(), f"the {kind} entry is written again"
    with cache_log() as records:
        build(manifest)
    assert not converted(records) and not [r for r in records if r.levelno >= logging.WARNING]


def test_no_cache_on_the_command_line(book, capsys):
    manifest, _ = book
    with cache_log() as records:
        assert main(["-q", "build", "--no-cache", str(manifest), "--only", "epub"]) == 0
    assert converted(records) == ALL_CONVERSIONS
    assert "epub: " in capsys.readouterr().out


def test_index_anchor_slots_round_trip():
    def ix(n):
        return {"t": "Span", "c": [[f"ix-{n}", ["ix"], [["data-term", "t"]]], [{"t": "Str", "c": "w"}]]}

    ast = {"pandoc-api-version": [1, 23], "meta": {}, "blocks": [
        {"t": "Para", "c": [ix(17), {"t": "Space"}, ix(18)]}]}
    slotted, anchors = _slot_index_anchors(ast)
    shifted, _ = _slot_index_anchors({**ast, "blocks": [{"t": "Para", "c": [ix(40), {"t": "Space"}, ix(41)]}]})
    assert slotted == shifted, "the same text keys the same whatever its anchors' book-wide numbers"
    assert anchors == ["ix-17", "ix-18"]
    assert json.loads(slotted)["blocks"][0]["c"][2]["c"][0][0] == "anthology-ix-slot-2"
    html = '<p><span id="anthology-ix-slot-1" class="ix">w</span> <span id="anthology-ix-slot-2">w</span></p>'
    assert _restore_index_anchors(html, anchors) == \
        '<p><span id="ix-17" class="ix">w</span> <span id="ix-18">w</span></p>'
