"""Cross-references, citations, bibliography and index, read back from the tiny book's PDF."""
from __future__ import annotations

import re
import shutil

import pytest
from conftest import FIXTURES
from helpers import epub_documents, pages_containing, pdf_pages, squash

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


def test_two_works_of_one_author_and_year_are_told_apart_as_the_bibliography_does(tmp_path):
    """A text citing one of two works Brinton published in 1970 says which, with the letter the
    bibliography page gives it (the texts' citations are disambiguated over the whole bibliography)."""
    from anthology import pandoc

    bib = tmp_path / "bibliography.yaml"
    bib.write_text("references:\n"
                   "- {id: bolsheviks, type: book, title: The Bolsheviks and Workers' Control,\n"
                   "   author: [{family: Brinton, given: Maurice}], issued: {date-parts: [[1970]]}}\n"
                   "- {id: paris, type: book, title: Paris May 1968,\n"
                   "   author: [{family: Brinton, given: Maurice}], issued: {date-parts: [[1970]]}}\n")
    args = pandoc.citeproc_args(bib, pandoc.DEFAULT_CSL)
    text = pandoc.ast_to_html(pandoc.markdown_to_ast("As Brinton showed [@bolsheviks, 12]."), args)
    page = " ".join(pandoc.bibliography_html(bib, pandoc.DEFAULT_CSL).split())
    assert "(Brinton 1970b, 12)" in text
    assert "Brinton, Maurice. 1970b. <em>The Bolsheviks and Workers’ Control</em>" in page


CITING = ["As @carr1966 [p. 73] says, and others agree [see @avrich1967; @carr1966, 12-14].",
          "A note cites it too.[^1]\n\n[^1]: Thus [-@avrich1967, 5] and [@carr1966].",
          "Nothing cited here, but [@avrich1967 and passim]."]


def test_citations_rendered_together_are_those_each_text_renders_alone():
    """One citeproc run for every text that cites gives each citation as the text's own run does."""
    from anthology import pandoc

    bib = FIXTURES / "books" / "tiny" / "bibliography.yaml"
    args = pandoc.citeproc_args(bib, pandoc.DEFAULT_CSL)
    asts = [pandoc.markdown_to_ast(text) for text in CITING]
    alone = [pandoc.ast_to_html(ast, args) for ast in asts]
    cites, page = pandoc.render_citations(iter(asts), args, bibliography=True)
    together = [pandoc.ast_to_html(pandoc.with_citations(ast, each), []) for ast, each in zip(asts, cites)]
    assert together == alone
    assert "(Carr 1966, 12–14)" in together[0] or "Carr 1966, 12–14" in together[0], together[0]
    assert pandoc.ast_to_html(page) == pandoc.bibliography_html(bib, pandoc.DEFAULT_CSL), \
        "the same bibliography as its own run makes"
    assert pandoc.render_citations(asts, args)[1] is None
    assert [len(each) for each in cites] == [2, 2, 1]


def test_the_bibliography_of_the_texts_citeproc_run_tells_works_apart_as_its_own_run_does(tmp_path):
    """Two works of one author and year: 1970a and 1970b, the same in both runs, whichever the texts cite first."""
    from anthology import pandoc

    bib = tmp_path / "bibliography.yaml"
    bib.write_text("references:\n"
                   "- {id: paris, type: book, title: Paris May 1968,\n"
                   "   author: [{family: Brinton, given: Maurice}], issued: {date-parts: [[1970]]}}\n"
                   "- {id: bolsheviks, type: book, title: The Bolsheviks and Workers' Control,\n"
                   "   author: [{family: Brinton, given: Maurice}], issued: {date-parts: [[1970]]}}\n"
                   "- {id: avrich, type: book, title: The Russian Anarchists,\n"
                   "   author: [{family: Avrich, given: Paul}], issued: {date-parts: [[1967]]}}\n")
    args = pandoc.citeproc_args(bib, pandoc.DEFAULT_CSL)
    asts = [pandoc.markdown_to_ast(text) for text in ("First [@paris].", "Then [@bolsheviks; @avrich].")]
    _, page = pandoc.render_citations(asts, args, bibliography=True)
    html = pandoc.ast_to_html(page)
    assert html == pandoc.bibliography_html(bib, pandoc.DEFAULT_CSL)
    assert "1970a" in html and "1970b" in html


def test_only_a_style_that_renders_each_citation_alone_is_rendered_together(tmp_path):
    from anthology import pandoc

    assert pandoc.citations_apart(pandoc.DEFAULT_CSL)
    style = pandoc.DEFAULT_CSL.read_text(encoding="utf-8")
    notes = tmp_path / "notes.csl"
    notes.write_text(style.replace('class="in-text"', 'class="note"', 1), encoding="utf-8")
    ibid = tmp_path / "ibid.csl"
    ibid.write_text(style.replace('<if disambiguate="true">', '<if position="ibid">', 1), encoding="utf-8")
    numbered = tmp_path / "numbered.csl"  # [1], [2] in order of first citation
    numbered.write_text(style.replace('<if disambiguate="true">', '<if variable="citation-number">', 1),
                        encoding="utf-8")
    fewer = tmp_path / "fewer-names.csl"  # "Aa, Bb and Cc" first, "Aa et al." after
    fewer.write_text(style.replace(' et-al-min="3"', ' et-al-subsequent-min="3" et-al-min="3"', 1), encoding="utf-8")
    assert not any(pandoc.citations_apart(csl) for csl in (notes, ibid, numbered, fewer))


def test_a_build_renders_the_citations_of_its_texts_and_its_bibliography_in_one_run(tmp_path, monkeypatch):
    from anthology import pandoc

    dest = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", dest)
    headnote = dest / "notes" / "headnote-one.md"
    headnote.write_text(headnote.read_text() + "\nAs Avrich tells it [@avrich1967, 3].\n")
    runs, real = [], pandoc.subprocess.run
    monkeypatch.setattr(pandoc.subprocess, "run", lambda cmd, **kw: runs.append(cmd) or real(cmd, **kw))
    build(dest / "manifest.yaml", only=("epub",))
    writers = [cmd for cmd in runs if "--citeproc" in cmd and "--to=html5" in cmd]  # the texts', the bibliography's
    together = [cmd for cmd in runs if "--citeproc" in cmd and "--to=json" in cmd]
    assert len(together) == 1 and writers == [], runs
    epub = next((dest / "build").glob("*.epub"))
    text = " ".join("".join(doc.itertext()) for doc in epub_documents(str(epub)).values())
    assert "(Avrich 1967, 3)" in text and "(Carr 1966, 73)" in text
    assert "Avrich, Paul. 1967." in text, "the bibliography, from the same run"


def test_a_bibliography_the_style_does_not_sort_is_made_by_its_own_run(tmp_path, monkeypatch):
    """Unsorted, a bibliography lists its entries in the order they are first cited: in the texts'
    run that order would follow the texts, in its own run the file's. Its own run makes it, so
    that a cached bibliography and a fresh one are the same."""
    from anthology import pandoc

    assert pandoc.bibliography_sorted(pandoc.DEFAULT_CSL)
    dest = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", dest)
    style = re.sub(r"(<bibliography[^>]*>\s*)<sort>.*?</sort>", r"\1", pandoc.DEFAULT_CSL.read_text(encoding="utf-8"),
                   count=1, flags=re.S)
    (dest / "unsorted.csl").write_text(style, encoding="utf-8")
    assert not pandoc.bibliography_sorted(dest / "unsorted.csl")
    manifest = dest / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("bibliography: bibliography.yaml",
                                                     "bibliography: bibliography.yaml\ncsl: unsorted.csl", 1))
    headnote = dest / "notes" / "headnote-one.md"
    headnote.write_text(headnote.read_text() + "\nAs Avrich tells it [@avrich1967, 3].\n")
    runs, real = [], pandoc.subprocess.run
    monkeypatch.setattr(pandoc.subprocess, "run", lambda cmd, **kw: runs.append(cmd) or real(cmd, **kw))
    build(manifest, only=("epub",))
    assert [cmd for cmd in runs if "--citeproc" in cmd and "--to=html5" in cmd and "--from=markdown" in cmd]


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
    assert smart("'Tis a pity, 'twas said, rock 'n' roll") == "’Tis a pity, ’twas said, rock ’n’ roll"
    assert smart("'Em, they said; 'tisane', 'em', 'n-gram models', the variable 'n'") == \
        "’Em, they said; ‘tisane’, ‘em’, ‘n-gram models’, the variable ‘n’"


# The default book ------------------------------------------------------------------


def test_default_book_cross_references_print_their_targets_page(default_book):
    from anthology import pandoc, transforms
    from anthology.manifest import load_manifest
    from anthology.model import load_book
    manifest, out = default_book
    pdf = str(out["pdf"])
    book = load_book(load_manifest(manifest))
    pandoc.book_to_ast(book)
    transforms.apply(book)
    intro = book.parts[0].body
    links = re.findall(r"\[([^\]]+)\]\(#([^)]+)\)", intro)
    assert len(links) >= 6
    text = " ".join(" ".join(pdf_pages(pdf)).replace("\u2010\n", "").split())
    at = 0
    for words, target in links:  # in reading order: the same words may link twice
        words = " ".join(words.split())
        m = re.compile(re.escape(words) + r" \(p\. (\d+)\)").search(text, at)
        at = m.end() if m else at
        assert m, f"no page number after {words!r}"
        page = pdf_pages(pdf)[int(m.group(1)) - 1]
        part_id, _, rest = target.partition("--")
        expected = next(p for p in book.parts if p.id == part_id)
        if not rest:
            assert squash(page).startswith(squash(expected.title)[:30]), f"{target}: p. {m.group(1)}"
        elif rest.startswith("fn"):
            label = rest[2:]
            mark = label if label.isdigit() else "*"
            assert mark in page, f"{target}: note not on p. {m.group(1)}"
        else:
            heading = next(t for _, ident, t in expected.sections if ident == target)
            assert squash(heading) in squash(page), f"{target}: heading not on p. {m.group(1)}"


def test_default_book_index_locators_are_pages_where_the_terms_stand(default_book):
    from anthology.manifest import load_manifest
    from anthology.transforms.index import load_terms
    manifest, out = default_book
    pdf = str(out["pdf"])
    terms = {t.label: t for t in load_terms(load_manifest(manifest).index)}
    index_pages = [t for t in pdf_pages(pdf) if t.lstrip().startswith("Index")]
    index_pages += pdf_pages(pdf)[len(pdf_pages(pdf)) - 3:]
    text = "\n".join(dict.fromkeys(index_pages))
    assert not re.search(r"\d–\n", text), "a line never ends inside a page range (46–/53)"
    text = re.sub(r",\s*\n(?=\d)", ", ", text)
    checked = 0
    for label, term in terms.items():
        m = re.search(re.escape(label) + r", ((?:\d+(?:–\d+)?(?:, )?)+)", text)
        if not m:
            continue
        for chunk in m.group(1).split(", "):
            if not chunk:
                continue
            a, _, b = chunk.partition("–")
            for page in range(int(a), int(b or a) + 1):
                page_text = squash(pdf_pages(pdf)[page - 1])
                assert any(squash(" ".join(form)) in page_text for form in term.forms), \
                    f"{label}: nothing on p. {page}"
                checked += 1
    assert checked > 200
