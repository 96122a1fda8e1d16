"""End-to-end: the fixture book and the default book through the real tools."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import epubcheck_result
from helpers import NS, call_pages, epub_documents, notes_with_context, pages_containing, pdf_pages, squash

from anthology.build import build
from anthology.messages import AnthologyError


def _assert_notes_on_call_pages(pdf: str, epub: str, min_notes: int) -> None:
    notes = notes_with_context(epub)
    assert len(notes) >= min_notes
    for name, number, before, note in notes:
        note_start = squash(note)[:40]
        calls = call_pages(pdf, before, number)
        note_pages = pages_containing(pdf, note_start)
        assert calls, f"{name}: call of note {number} ({before[-40:]!r}) not found in the PDF"
        assert note_pages, f"{name}: note {number} ({note[:40]!r}) not found in the PDF"
        assert calls & note_pages, (
            f"{name}: note {number} is on page(s) {sorted(note_pages)}, its call on {sorted(calls)}")


def test_tiny_footnotes_on_the_page_of_their_call(tiny_book):
    _, out = tiny_book
    _assert_notes_on_call_pages(str(out["pdf"]), str(out["epub"]), min_notes=12)


def test_tiny_footnote_numbering_restarts_with_each_text(tiny_book):
    _, out = tiny_book
    pdf = str(out["pdf"])
    assert pages_containing(pdf, "1. See Carr"), "the first text's first note is numbered 1"
    assert pages_containing(pdf, "1. Carr, The Bolshevik"), "the second text's first note is numbered 1 again"


def test_tiny_epub_passes_epubcheck(tiny_book):
    _, out = tiny_book
    result = epubcheck_result(out["epub"])
    errors = [m for m in result.messages if m.level in ("ERROR", "FATAL")]
    assert result.valid and not errors, errors


def test_tiny_epub_has_one_file_per_item_and_notes_both_ways(tiny_book):
    _, out = tiny_book
    docs = epub_documents(str(out["epub"]))
    names = {Path(n).name for n in docs}
    assert {"intro.xhtml", "one.xhtml", "two.xhtml", "sources.xhtml", "nav.xhtml"} <= names
    for name, doc in docs.items():
        for ref in doc.xpath("//x:a[@epub:type='noteref']", namespaces=NS):
            note_id = ref.get("href").lstrip("#")
            aside = doc.xpath(f"//x:aside[@id='{note_id}'][@epub:type='footnote']", namespaces=NS)
            assert aside, f"{name}: note {note_id} is not in the same file"
            back = aside[0].xpath(".//x:a[@role='doc-backlink']/@href", namespaces=NS)
            assert back == [f"#{ref.get('id')}"], f"{name}: note {note_id} has no link back"


def test_tiny_pdf_has_the_texts_in_order(tiny_book):
    _, out = tiny_book
    pages = pdf_pages(str(out["pdf"]))
    first = min(pages_containing(str(out["pdf"]), "The First Fixture Text") - {3, 4})
    second = min(pages_containing(str(out["pdf"]), "A Second Fixture Text") - {3, 4})
    assert first < second < len(pages)
    assert pages_containing(str(out["pdf"]), "Sources")


def test_failed_build_keeps_the_good_book(tiny_book, tmp_path):
    manifest, out = tiny_book
    before = {k: Path(p).read_bytes() for k, p in out.items()}
    broken = manifest.parent / "texts" / "two.md"
    good = broken.read_text()
    broken.write_text("---\ntitle: [unclosed\n---\nText.\n")
    try:
        with pytest.raises(AnthologyError):
            build(manifest)
    finally:
        broken.write_text(good)
    for kind, path in out.items():
        assert Path(path).read_bytes() == before[kind], f"the {kind} was replaced by a failed build"
    assert not list(Path(out["pdf"]).parent.glob(".anthology-tmp-*"))


def test_default_book_footnotes_on_the_page_of_their_call(default_book):
    _, out = default_book
    _assert_notes_on_call_pages(str(out["pdf"]), str(out["epub"]), min_notes=18)


def test_default_book_epub_passes_epubcheck(default_book):
    _, out = default_book
    result = epubcheck_result(out["epub"])
    errors = [m for m in result.messages if m.level in ("ERROR", "FATAL")]
    assert result.valid and not errors, errors
