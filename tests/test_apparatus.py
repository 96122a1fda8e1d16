"""Cross-references, citations, bibliography and index, read back from the tiny book's PDF."""
from __future__ import annotations

import re
import shutil

import pytest
from conftest import FIXTURES
from helpers import pages_containing, pdf_pages, squash

from anthology.build import build
from anthology.messages import AnthologyError


def _page_of_text(pdf: str, words: str) -> set[int]:
    return {i + 1 for i in pages_containing(pdf, words)}


def test_cross_references_print_the_page_of_their_target(tiny_book):
    _, out = tiny_book
    pdf = str(out["pdf"])
    intro = next(t for t in pdf_pages(pdf) if t.lstrip().startswith("Introduction"))
    flat = " ".join(intro.replace("\u2010\n", "").split())
    refs = dict(re.findall(r"(opens the book|fourth section) \(p\. (\d+)\)", flat))
    assert set(refs) == {"opens the book", "fourth section"}, flat
    opener = int(refs["opens the book"])
    assert pdf_pages(pdf)[opener - 1].lstrip().startswith("The First Fixture Text")
    assert int(refs["fourth section"]) in _page_of_text(pdf, "Section b4")


def _index_entries(pdf: str) -> dict[str, list[int]]:
    text = next(t for t in pdf_pages(pdf) if t.lstrip().startswith("Index"))
    entries = {}
    for line in text.splitlines():
        m = re.match(r"(.+?), ([\d–, ]+)$", line.strip())
        if not m:
            continue
        pages = []
        for chunk in m.group(2).split(","):
            a, _, b = chunk.strip().partition("–")
            pages += list(range(int(a), int(b or a) + 1))
        entries[m.group(1)] = pages
    return entries


def test_every_index_locator_is_a_page_where_the_term_stands(tiny_book):
    _, out = tiny_book
    pdf = str(out["pdf"])
    entries = _index_entries(pdf)
    forms = {"railway workers": "railway", "soviets": "soviet", "delegates to": "delegate",
             "Author, Ada": "Ada Author"}
    assert {"railway workers", "soviets", "delegates to", "Author, Ada"} <= set(entries)
    for label, pages in entries.items():
        for page in pages:
            assert squash(forms[label]) in squash(pdf_pages(pdf)[page - 1]), f"{label}: nothing on p. {page}"


def test_index_merges_consecutive_pages_into_ranges(tiny_book):
    _, out = tiny_book
    text = next(t for t in pdf_pages(str(out["pdf"])) if t.lstrip().startswith("Index"))
    assert re.search(r"railway workers, \d+–\d+", text)


def test_bibliography_says_which_texts_cite_each_entry(tiny_book):
    _, out = tiny_book
    text = " ".join(next(t for t in pdf_pages(str(out["pdf"])) if t.lstrip().startswith("Bibliography")).split())
    assert "Carr, E. H. 1966. The Bolshevik Revolution, 1917–1923. Penguin. Cited in: Author 1917, Writer 1921." \
        in text
    assert "Avrich, Paul. 1967. The Russian Anarchists. Princeton University Press. Cited in: Writer 1921." in text


def test_editors_citations_are_rendered_by_citeproc(tiny_book):
    _, out = tiny_book
    assert _page_of_text(str(out["pdf"]), "as Carr showed long ago (Carr 1966, 73)")


@pytest.fixture
def book(tmp_path):
    dest = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", dest)
    return dest


def _fails(book, file: str, old: str, new: str):
    path = book / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(AnthologyError) as exc:
        build(book / "manifest.yaml", only=("pdf",))
    return exc.value.diagnostics, path.read_text()


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_unknown_citation_key_fails_with_file_and_line(book):
    found, text = _fails(book, "notes/intro.md", "[@carr1966, p. 73]", "[@carr1967, p. 73]")
    assert ("C001", "notes/intro.md", _line_of(text, "@carr1967")) in [(d.code, d.file, d.line) for d in found]


def test_dangling_reference_fails_with_file_and_line(book):
    found, text = _fails(book, "notes/intro.md", "(#two--section-b4)", "(#two--section-b7)")
    assert ("X001", "notes/intro.md", _line_of(text, "#two--section-b7")) in [(d.code, d.file, d.line) for d in found]


def test_duplicate_id_fails_with_file_and_line(book):
    found, text = _fails(book, "texts/two.md", "## Section b4", "## Section b4 {#one}")
    assert ("X002", "texts/two.md", _line_of(text, "{#one}")) in [(d.code, d.file, d.line) for d in found]


def test_bib_suggest_groups_one_work_across_texts(capsys):
    from anthology.cli import main
    assert main(["bib", "suggest", str(FIXTURES / "books" / "tiny" / "manifest.yaml")]) == 0
    out = capsys.readouterr().out
    assert "# 2 mention(s) in 2 text(s): one note 1; two note 1\n- id: carr-bolshevik" in out
    assert "title: The Bolshevik Revolution" in out and "family: Avrich" in out


def test_smart_typography_for_plain_strings():
    from anthology.transforms.typography import smart
    assert smart("Workers' Control -- \"the '70s\"...") == "Workers’ Control – “the ’70s”…"
    assert smart("'quoted' and Brinton's") == "‘quoted’ and Brinton’s"
