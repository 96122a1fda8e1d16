"""`anthology check`: every problem of the faulty book with its code and file:line:col, exit
codes, --strict, the clean books, speed, and the Markdown reading checked against pandoc."""
from __future__ import annotations

import json
import logging
import re
import shutil
import time
from pathlib import Path

import pytest

from anthology.check import check_book_sources, run_checks
from anthology.check.markdown import auto_identifier, scan, unique_identifier
from anthology.cli import main
from anthology.manifest import load_manifest

ROOT = Path(__file__).resolve().parent.parent
BOOKS = Path(__file__).resolve().parent / "fixtures" / "books"
FAULTY = BOOKS / "faulty"
TINY = BOOKS / "tiny"

# Everything wrong in tests/fixtures/books/faulty, in the order the report gives it.
FAULTY_EXPECTED = [
    "bibliography.yaml:6:3: error C002",      # an entry without id
    "index.yaml:3:9: warning X003",           # 'Kronstadt' occurs nowhere
    "index.yaml:5:3: error X004",             # an entry without term
    "index.yaml:7:3: warning X005",           # 'mach:' for 'match:'
    "manifest.yaml:5:3: warning M002",        # 'subtitel'
    "manifest.yaml:15:11: error M005",        # texts/missing.md: the rest is still checked
    "notes/intro.md:6:71: error X001",        # a link from the editors' notes to no section
    "notes/intro.md:7:50: error C001",        # an unknown key in the editors' notes
    "texts/bad.md:1:1: error T001",           # no rights
    "texts/bad.md:5:1: error T001",           # no source (retrieved-from is empty)
    "texts/bad.md:8:40: error T003",          # [^missing]
    "texts/bad.md:9:50: error C001",          # [@nobody1999]
    "texts/bad.md:11:22: error X002",         # {#background} is also good.md's
    "texts/bad.md:13:15: error X001",         # (#nowhere)
    "texts/bad.md:15:1: error G001",          # missing image
    "texts/bad.md:16:1: error G002",          # ../outside.png
    "texts/bad.md:17:1: error G003",          # 7100 × 7100 px
    "texts/bad.md:18:1: warning G004",        # 600 px wide: 130 ppi
    "texts/bad.md:19:1: error G005",          # not an image
    "texts/bad.md:21:1: warning T004",        # [^unused] is called only from inside a note
    "texts/bad.md:23:37: warning T008",       # ... here
    "texts/bad.md:25:1: warning T007",        # [^twice] defined twice
]


def _check(argv: list[str], capsys) -> tuple[int, list[str], str]:
    code = main(["check", *argv])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def _where_and_code(line: str) -> str:
    m = re.match(r"(\S+: (?:error|warning) [A-Z]\d{3}):", line)
    assert m, line
    return m.group(1)


@pytest.fixture
def tiny(tmp_path) -> Path:
    dest = tmp_path / "tiny"
    shutil.copytree(TINY, dest, ignore=shutil.ignore_patterns("build"))
    return dest


def test_faulty_book_reports_each_problem_where_it_is(capsys):
    code, out, err = _check([str(FAULTY)], capsys)
    assert code == 1
    assert [_where_and_code(l) for l in out[:-1]] == FAULTY_EXPECTED, "\n".join(out)
    assert re.fullmatch(r"15 errors, 7 warnings in \d+\.\d\d s", out[-1])
    assert all(". Hint: " in l for l in out[:-1]), "every message has a hint"
    text = "\n".join(out)
    assert not [l for l in out if l.startswith("texts/good.md")], \
        "code spans, escapes, e-mail, indented code and note continuations are no problems"
    assert "unknown key 'book.subtitel'. Hint: Did you mean 'subtitle'?" in text
    assert "unknown key 'mach' in an index entry. Hint: Did you mean 'match'?" in text
    assert "cross-reference to '#nowhere'" in text and "citation '@nobody1999'" in text
    assert "also by the heading at texts/good.md:12" in text
    assert "600 px wide: 130 ppi at its print width of 4.60 in (6x9in)" in text
    assert "at least 1380 px wide" in text
    assert err == "", "the manifest's warnings are in the report, not logged a second time"


def test_library_returns_the_same_report(monkeypatch):
    # load_manifest logs its warnings; an earlier main() bound the log handler to a stream
    # pytest has since closed, so keep that logger quiet here (the report holds the warnings).
    monkeypatch.setattr(logging.getLogger("anthology.manifest"), "disabled", True)
    report = run_checks(FAULTY / "manifest.yaml")
    assert [_where_and_code(d.format()) for d in report.diagnostics] == FAULTY_EXPECTED
    assert report.exit_code == 1 and len(report.errors) == 15 and len(report.warnings) == 7


def test_clean_fixture_book(capsys):
    code, out, _ = _check([str(TINY / "manifest.yaml")], capsys)
    assert code == 0, "\n".join(out)
    assert out[-1].startswith("0 errors, 0 warnings in ")


def test_default_book_is_clean_and_fast(capsys):
    start = time.perf_counter()
    code, out, _ = _check([str(ROOT / "manifest.yaml")], capsys)
    seconds = time.perf_counter() - start
    assert code == 0, "\n".join(out)
    assert not [l for l in out if " error " in l]
    print(f"anthology check on the default book: {seconds:.3f} s ({out[-1]})")
    assert seconds < 3, "well under a second is the aim; this bound is loose on purpose"


def test_strict_turns_warnings_into_errors(tiny, capsys):
    with (tiny / "texts" / "two.md").open("a", encoding="utf-8") as f:
        f.write("\n[^orphan]: A note nobody calls.\n")
    code, out, _ = _check([str(tiny)], capsys)
    assert code == 0
    assert out[0].startswith("texts/two.md:53:1: warning T004: note [^orphan] is defined but never referenced")
    assert out[-1].startswith("0 errors, 1 warning in ")
    code, out, _ = _check(["--strict", str(tiny)], capsys)
    assert code == 1
    assert out[0].startswith("texts/two.md:53:1: error T004:")
    assert out[-1].startswith("1 error, 0 warnings in ")


def test_usage_errors_exit_2(tmp_path, capsys):
    code, out, err = _check([str(tmp_path / "nowhere.yaml")], capsys)
    assert code == 2 and "M005" in err and out == []
    assert main(["check", "--no-such-option"]) == 2
    capsys.readouterr()


def test_help_documents_exit_codes(capsys):
    assert main(["check", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--strict" in out and "exit status:" in out
    assert re.search(r"0\s+no errors", out) and re.search(r"1\s+errors found", out) and re.search(r"2\s+usage", out)


def test_broken_manifest_reports_and_stops(tiny, capsys):
    text = (tiny / "manifest.yaml").read_text()
    (tiny / "manifest.yaml").write_text(text.replace("  language: en\n", "  language: [en\n"))
    code, out, _ = _check([str(tiny)], capsys)
    assert code == 1
    assert _where_and_code(out[0]) == "manifest.yaml:8:9: error Y001"
    assert out[-1].startswith("1 error, 0 warnings")


def test_unreadable_texts_do_not_cascade(tiny, capsys):
    (tiny / "texts" / "two.md").write_text("---\ntitle: never closed\n\nText.\n", encoding="utf-8")
    (tiny / "notes" / "headnote-one.md").write_bytes("Caf\u00e9 au lait.\n".encode("latin-1"))
    code, out, _ = _check([str(tiny)], capsys)
    assert code == 1
    assert [_where_and_code(l) for l in out[:-1]] == [
        "notes/headnote-one.md:1:4: error T009",
        "texts/two.md:1:1: error T002",
    ], "the intro's link to #two--section-b4 is not judged while two.md cannot be read"


def test_check_book_sources_for_the_build(tiny):
    assert check_book_sources(load_manifest(tiny / "manifest.yaml")) == []
    intro = tiny / "notes" / "intro.md"
    intro.write_text(intro.read_text() + "\nSee [the misspelt section](#one--sektion-a4) and [@carr1967].\n")
    found = check_book_sources(load_manifest(tiny / "manifest.yaml"))
    assert [_where_and_code(d.format()) for d in found] == [
        "notes/intro.md:11:28: error X001", "notes/intro.md:11:51: error C001"]
    assert "Did you mean '#one--section-a4'?" in found[0].format()
    assert "Did you mean '@carr1966'?" in found[1].format()


def test_second_note_series_keeps_its_labels(tiny, capsys):
    two = tiny / "texts" / "two.md"
    text = two.read_text().replace("markerb1[^1].", "markerb1[^s1] and[^1].")
    two.write_text(text + "\n[^s1]: A source note, marked with a symbol.\n\n"
                          "See [the source note](#two--fns1), [the fifth note](#two--fn5) "
                          "and [no sixth](#two--fn6).\n")
    code, out, _ = _check([str(tiny)], capsys)
    assert code == 1
    assert [_where_and_code(l) for l in out[:-1]] == ["texts/two.md:55:79: error X001"]
    assert "'#two--fn6'" in out[0]


def test_missing_front_matter_keys(tiny, capsys):
    one = tiny / "texts" / "one.md"
    text = one.read_text()
    text = text.replace("date: 1917\n", "date:\n").replace("rights: Public domain\n", "")
    text = re.sub(r"original-publication: .*\n|retrieved-from: .*\n", "", text)
    one.write_text(text)
    code, out, _ = _check([str(tiny)], capsys)
    assert code == 1
    assert out[:-1] == [
        "texts/one.md:1:1: error T001: the text has no 'rights' in its front matter. "
        "Hint: Add the key to the text's YAML front matter.",
        "texts/one.md:1:1: error T001: the text names no source: give 'original-publication', 'retrieved-from' "
        "or 'sources' in its front matter. Hint: Add the key to the text's YAML front matter.",
        "texts/one.md:4:1: error T001: the text's 'date' is empty. "
        "Hint: Give the key a value in the text's YAML front matter.",
    ]


def test_image_print_width_and_trim(tiny, capsys):
    from PIL import Image
    (tiny / "images").mkdir()
    Image.new("1", (1000, 10)).save(tiny / "images" / "fig.png")
    two = tiny / "texts" / "two.md"
    two.write_text(two.read_text() + "\n![half width](images/fig.png){width=50%}\n\n![full](images/fig.png)\n")
    code, out, _ = _check([str(tiny)], capsys)
    assert code == 0, "\n".join(out)
    assert len(out) == 2, "at half of a5's 4.43 in text block 1000 px are 452 ppi; at full width 226"
    assert out[0].startswith("texts/two.md:55:1: warning G004: image 'images/fig.png' is 1000 px wide: "
                             "226 ppi at its print width of 4.43 in (a5)")


def test_text_block_matches_the_pdf_renderer():
    from anthology.check.images import SIDE_MARGINS_IN, text_block_in
    from anthology.render.pdf import MARGINS
    margins = sum(float(MARGINS[side].removesuffix("in")) for side in ("inner", "outer"))
    assert SIDE_MARGINS_IN == pytest.approx(margins)
    assert text_block_in("6x9in") == pytest.approx(4.6)
    assert text_block_in("5.5x8.5in") == pytest.approx(4.1)
    assert text_block_in("a5") == pytest.approx(4.43, abs=0.01)


# --- the Markdown reading, against pandoc itself -------------------------------------------

HEADINGS = """\
# Heading identifiers in HTML

# Maître d'hôtel

# *Dogs*?--in *my* house?

# [HTML], [S5], or [RTF]?

# 3. Applications

# 33

# Hi

# Hi

# A --- B ... c

# Lenin's "party" line[^1] and `code_x` ^[an inline note]

# Title {#my-id}

# Hi {.unnumbered}

# Under_score and 1.5 dots. [link text](http://x.org) ![alt img](a.png)

Setext heading
==============

Another--one
------------

# Ünïcode Straße — dash – x

# hi-1

# x\\*escaped\\* &amp; ~~strike~~ H~2~O x^2^ [span]{.sc} <http://auto.link>

# The *Critique* of `a b` [see @key, p. 3] @doe99

## Closing hashes ##

# with [ref link][r] and **bold _it_**

# ¿Qué? 100% — «guillemets» l'État 1917--1921

# _under_score_ and snake_case_word

A paragraph line
# is no heading after a paragraph line

[r]: http://example.org
[^1]: A note.
"""


def _pandoc_ast(markdown: str) -> dict:
    import pypandoc
    from anthology.pandoc import MARKDOWN
    return json.loads(pypandoc.convert_text(markdown, "json", format=MARKDOWN))


def _walk(node, found: dict):
    if isinstance(node, dict):
        if node.get("t") == "Header":
            found.setdefault("Header", []).append(node["c"][1][0])
        elif node.get("t") == "Note":
            found["Note"] = found.get("Note", 0) + 1
        elif node.get("t") == "Cite":
            found.setdefault("Cite", []).extend(c["citationId"] for c in node["c"][0])
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)
    return found


def _my_ids(markdown: str) -> list[str]:
    used: set[str] = set()
    out = []
    for h in scan(markdown).headings:
        ident = h.explicit_id or unique_identifier(auto_identifier(h.text), used)
        used.add(ident)
        out.append(ident)
    return out


def test_heading_ids_are_pandocs():
    assert _my_ids(HEADINGS) == _walk(_pandoc_ast(HEADINGS), {})["Header"]


CITATIONS = """\
As @smith04 says [see @jones99, p. 3; -@doe2000] and (@Smith:2004a), also @a--b and @k-a.b/c:
but not a@b.com, x.@k2, \\@k3, `@k4`, <https://x.org/@k5> or [a link](https://x.org/@k6).
Yet https://x.org/@k7 is a citation to pandoc, and so is x_@k8.
"""


def test_citation_keys_are_pandocs():
    mine = [c.value for c in scan(CITATIONS).citations]
    assert mine == _walk(_pandoc_ast(CITATIONS), {})["Cite"]


NOTES = """\
Text[^a] and `[^code]` and \\[^esc] and an inline note^[with [brackets]] then[^b] and[^a] again.

    [^indented]: is code

[^a]: First, continued
    on an indented line [^b] (a call inside a note: not a note of its own).

[^b]: Second.
"""


def test_note_numbering_is_pandocs():
    doc = scan(NOTES)
    assert len(doc.notes_in_order()) == _walk(_pandoc_ast(NOTES), {})["Note"] == 4
    assert [(d.label, d.line) for d in doc.note_defs] == [("a", 5), ("b", 8)]
    assert [(r.label, r.line, r.col, r.in_note) for r in doc.note_refs] == [
        ("a", 1, 5, None), ("b", 1, 77, None), ("a", 1, 85, None), ("b", 6, 25, "a")]


def test_default_book_structure_is_pandocs():
    """Heading ids and note counts of the real texts, as pandoc reads them."""
    manifest = load_manifest(ROOT / "manifest.yaml")
    from anthology.check.sources import load_sources
    book = load_sources(manifest, manifest.index, manifest.bibliography is not None)
    bodies = [f for f in book.bodies() if f.doc.headings or f.doc.note_defs]
    assert bodies
    for f in bodies:
        body = "\n".join(f.text.split("\n")[f.body_line - 1:])
        pandoc = _walk(_pandoc_ast(body), {})
        assert _my_ids(body) == pandoc.get("Header", []), f.name
        assert len(f.doc.notes_in_order()) == pandoc.get("Note", 0), f.name


def test_check_refuses_a_dependent_citation_style(tmp_path):
    import shutil

    from anthology.check import run_checks
    book = tmp_path / "book"
    shutil.copytree(Path(__file__).parent / "fixtures" / "books" / "tiny", book)
    shutil.copy(Path(__file__).parent / "fixtures" / "bad" / "dependent.csl", book / "style.csl")
    manifest = book / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("index: index.yaml\n", "index: index.yaml\ncsl: style.csl\n"))
    report = run_checks(manifest)
    assert any(d.code == "C004" and d.file == "style.csl" for d in report.diagnostics)
