"""Texts made packed (making.py): each AST kept as JSON text between the stages, one pandoc at a
time; the same book, the same cache, the same errors as texts made unpacked."""
from __future__ import annotations

import shutil
import threading

import pytest
from conftest import FIXTURES
from helpers import log_records

from anthology import making, pandoc
from anthology.build import Stages, build
from anthology.cache import BuildCache
from anthology.manifest import load_manifest
from anthology.messages import AnthologyError
from anthology.model import load_book


@pytest.fixture
def packed(monkeypatch):
    """Every text made packed, however little there is to make."""
    monkeypatch.setattr(making, "PACKED_FROM", -1)


def _copy(tmp_path):
    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    return root / "manifest.yaml"


def test_texts_made_packed_give_the_same_book_byte_for_byte(tmp_path, monkeypatch):
    manifest = _copy(tmp_path)
    here = build(manifest, tmp_path / "unpacked", use_cache=False).outputs
    monkeypatch.setattr(making, "PACKED_FROM", -1)
    with log_records("anthology") as records:
        result = build(manifest, tmp_path / "packed")
    for kind in ("pdf", "epub"):
        assert result.outputs[kind].read_bytes() == here[kind].read_bytes(), kind
    converted = {r.cache_label for r in records if getattr(r, "cache_event", None) == "converted"}
    assert converted == {"notes/intro.md", "notes/headnote-one.md", "texts/one.md", "texts/two.md",
                         "bibliography.yaml"}
    again = build(manifest, tmp_path / "packed")  # their cache entries were kept: nothing to make
    assert again.converted == []


def test_texts_made_packed_run_one_pandoc_at_a_time(tmp_path, packed, monkeypatch):
    running, most = [0], [0]
    lock = threading.Lock()
    real = pandoc.run_pandoc

    def counted(*args, **kwargs):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            return real(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(pandoc, "run_pandoc", counted)
    book = load_book(load_manifest(_copy(tmp_path)))
    making.make_texts(book, BuildCache(None), Stages())
    assert most[0] == 1
    assert all(part.packed for part in book.parts)


def test_an_error_in_texts_made_packed_names_its_file_and_line(tmp_path, packed):
    manifest = _copy(tmp_path)
    intro = manifest.parent / "notes" / "intro.md"
    intro.write_text(intro.read_text().replace("(#two--section-b4)", "(#two--section-b7)", 1))
    book = load_book(load_manifest(manifest))  # as the build does after `check`, which would find it first
    with pytest.raises(AnthologyError) as refused:
        making.make_texts(book, BuildCache(None), Stages())
    line = next(n for n, text in enumerate(intro.read_text().splitlines(), 1) if "#two--section-b7" in text)
    assert ("X001", "notes/intro.md", line) in [(d.code, d.file, d.line) for d in refused.value.diagnostics]


def test_a_packed_part_parses_its_ast_when_it_is_used_and_keeps_its_text():
    from anthology.model import Part

    part = Part("one", "text", None, None)
    part.packed = True
    part.keep_ast_json("ast", '{"blocks":[]}')
    assert part._asts["ast"] == '{"blocks":[]}' and part.ast == {"blocks": []}
    assert part.ast is not part.ast, "parsed anew each time: nothing held"
    with part.unpacked():
        tree = part.ast
        assert part.ast is tree, "parsed once for several passes"
        part.ast = {"blocks": [{"t": "Para", "c": []}]}
    assert part._asts["ast"] == '{"blocks": [{"t": "Para", "c": []}]}'
    assert part.ast_json("ast") == part._asts["ast"] and part.ast_json("headnote_ast") is None
    with part.unpacked():
        part.ast["blocks"].append({"t": "HorizontalRule"})  # changed in place, not assigned
    assert part.ast["blocks"][-1] == {"t": "HorizontalRule"}, "a change in place is kept too"


def test_a_book_whose_texts_will_be_made_packed_is_known_before_they_are_read(tmp_path, monkeypatch):
    """By its files' sizes: its layout workers then start after the texts, not beside pandoc."""
    manifest = load_manifest(_copy(tmp_path))
    assert not making.likely_made_packed(manifest)
    monkeypatch.setattr(making, "PACKED_FROM", 100)
    assert making.likely_made_packed(manifest)


@pytest.mark.parametrize("large", [True, False])
def test_memory_is_handed_back_after_a_large_books_texts(tmp_path, monkeypatch, large):
    """glibc keeps what the texts freed unless asked (malloc_trim); only a large book's making is
    worth the call."""
    import sys

    import ctypes

    calls = []

    class Trim:  # a stand-in for glibc's malloc_trim
        def __call__(self, pad):
            calls.append(pad)

    class Libc:
        malloc_trim = Trim()

    monkeypatch.setattr(ctypes, "CDLL", lambda name: Libc())
    monkeypatch.setattr(sys, "platform", "linux")
    if large:
        monkeypatch.setattr(making, "PACKED_FROM", -1)
    book = load_book(load_manifest(_copy(tmp_path)))
    making.make_texts(book, BuildCache(None), Stages())
    assert calls == ([0] if large else [])
