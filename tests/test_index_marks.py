"""The press PDF is laid out without the index's spans, and reads each occurrence's page from the
printed text: those pages must be the pages WeasyPrint gives the spans' anchors."""
from __future__ import annotations

import re
from collections import Counter

from conftest import ROOT

from anthology import pandoc, transforms
from anthology.manifest import load_manifest
from anthology.model import load_book
from anthology.render import blocks, html as pages, index_marks
from anthology.render.layout import lay_out
from anthology.render.pdf import STYLES, contained_fetcher, page_css
from anthology.sanitize import sanitize_book

DOCUMENT = (
    '<html><head><style>p > a { color: red }</style><title>Not the book</title></head><body>'
    '<section id="t"><p data-b="0">The <span id="ix-t-1" class="ix" data-term="p">Petrograd</span> soviet'
    '<span class="footnote" id="t--fn1">A <span id="ix-t-2" class="ix" data-term="n">note</span>.</span>'
    ' and &amp; <em>its</em> <span class="other">own</span> <span id="ix-t-3" class="ix" data-term="w">work</span>.'
    '</p><br/><blockquote><p data-b="1"><span id="ix-t-4" class="ix" data-term="p">Petrograd</span></p>'
    '</blockquote></section></body></html>')


def test_unmark_takes_out_the_index_spans_alone_and_counts_where_they_stood():
    unmarked = index_marks.unmark(DOCUMENT)
    assert 'class="ix"' not in unmarked.html and "ix-t-" not in unmarked.html
    assert '<span class="other">own</span>' in unmarked.html and '<span class="footnote" id="t--fn1">' in unmarked.html
    assert re.sub(r"<[^>]+>", "", unmarked.html) == re.sub(r"<[^>]+>", "", DOCUMENT)  # not a word lost
    assert unmarked.texts[("t", "0")] == "ThePetrogradsovietand&itsownwork."  # no spaces, no notes
    marks = {mark.anchor: mark for mark in unmarked.marks}
    assert [marks[a].offset for a in ("ix-t-1", "ix-t-3", "ix-t-4")] == [3, 28, 0]
    assert marks["ix-t-2"].note == "t--fn1" and marks["ix-t-2"].offset == len("ThePetrogradsoviet")
    assert not marks["ix-t-1"].in_note
    assert (marks["ix-t-4"].section, marks["ix-t-4"].block) == ("t", "1")


def test_unmark_without_stripping_leaves_the_document_as_it_was():
    unmarked = index_marks.unmark(DOCUMENT, strip=False)
    assert unmarked.html == DOCUMENT and len(unmarked.marks) == 4


def test_the_pages_read_from_the_text_are_those_of_the_anchors():
    """The default book laid out in one pass with its spans: every occurrence's page read from the
    printed text equals the page of its anchor, in notes, across page breaks, after hyphens."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    book = load_book(load_manifest(ROOT / "manifest.yaml"))
    pandoc.book_to_ast(book)
    transforms.apply(book)
    pandoc.book_to_html(book)
    sanitize_book(book)
    blocks.number_book(book)
    book.index_pages = {}
    document_html = pages.print_document(book, page_css(book.manifest.output))
    fonts, fetcher = FontConfiguration(), contained_fetcher([book.manifest.root, STYLES])
    stylesheet = CSS(filename=str(STYLES / "print.css"), font_config=fonts, url_fetcher=fetcher)
    document, _ = lay_out(document_html, lambda h: HTML(string=h, base_url=str(book.manifest.root) + "/",
                                                        url_fetcher=fetcher).render(stylesheets=[stylesheet],
                                                                                    font_config=fonts))
    anchors = {}
    for number, page in enumerate(document.pages):
        for anchor in page.anchors:
            if anchor.startswith("ix-"):
                anchors.setdefault(anchor, number)
    unmarked = index_marks.unmark(document_html, strip=False)
    read = index_marks.mark_pages(document, unmarked)

    assert len(anchors) > 500 and read == anchors
    # what makes the comparison worth making: marks in notes, blocks printed over two pages
    assert any(mark.in_note for mark in unmarked.marks)
    pages_of_block = Counter()
    for key in {(m.section, m.block) for m in unmarked.marks}:
        pages_of_block[len({read[m.anchor] for m in unmarked.marks if (m.section, m.block) == key})] += 1
    assert pages_of_block.keys() - {1}


def test_no_link_may_point_to_an_index_mark(tmp_path):
    """What lets the press PDF drop the marks' spans: a link to one is refused before any work."""
    import shutil

    import pytest
    from conftest import FIXTURES

    from anthology.build import build
    from anthology.messages import AnthologyError

    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    intro = root / "notes" / "intro.md"
    intro.write_text(intro.read_text().replace("(#two--section-b4)", "(#ix-one-5)"))
    with pytest.raises(AnthologyError) as raised:
        build(root / "manifest.yaml", only=("pdf",), use_cache=False)
    assert [(d.code, d.file, d.line) for d in raised.value.diagnostics] == [("X001", "notes/intro.md", 7)]
    assert not (root / "build" / "tiny.pdf").exists()
