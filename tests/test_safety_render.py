"""Contained rendering: the sanitiser, the print renderer's URL fetcher, pandoc's limits, and a
hostile text built for real, whose PDF and EPUB are searched for anything that leaked.

A loopback listener (tests/test_safety_support.py) stands for the network: the hostile
text and the dependent citation style point at it, and it must receive no connection.
"""
from __future__ import annotations

import base64
import os
import re
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image
from pypdf import PdfReader
from test_safety_inputs import deadline, huge_png
from test_safety_support import (BAD, Book, build_fails, copy_good_book, fifo, good_book, listener,  # noqa: F401
                                 passwd_line)

from anthology import limits, pandoc
from anthology.messages import AnthologyError
from anthology.render.pdf import STYLES, contained_fetcher
from anthology.sanitize import safe_href, safe_src, sanitize_fragment

ROOT = Path(__file__).resolve().parent.parent
SECRET = "SECRET-MARKER-4f1c9b-never-in-any-output"


# --- the sanitiser ------------------------------------------------------------------------------

@pytest.mark.parametrize("fragment, gone, kept", [
    ('<p><a href="file:///etc/passwd" rel="attachment">x</a></p>', ["rel=", "attachment", "file:", "href"], ["<a>x</a>"]),
    ('<p><a href="secret.txt" rel="attachment">x</a></p>', ["rel=", "secret.txt"], ["x</a>"]),
    ('<a href="http://127.0.0.1:9/s.css" rel="stylesheet" type="text/css">s</a>', ["rel=", "type="],
     ['href="http://127.0.0.1:9/s.css"']),
    ('<img src="images/a.png" style="width:50.0%" onerror="alert(1)" alt="x" />', ["onerror", "alert"],
     ['src="images/a.png"', 'style="width: 50.0%"', 'alt="x"']),
    ('<img src="file:///dev/zero"><img src="/etc/passwd"><img src="../../etc/passwd"><img src="%2e%2e/x.png">'
     '<img src="//127.0.0.1/x.png"><img src="http://127.0.0.1/x.png"><img src="data:image/png;base64,AAAA">',
     ["src="], ["<img>"]),
    ('<a href="javascript:alert(1)">a</a><a href="  JaVaScRiPt:alert(2)">b</a><a href="java\tscript:x">c</a>'
     '<a href="vbscript:x">d</a><a href="data:text/html,x">e</a><a href="other.md">f</a>', ["href="], ["<a>a</a>"]),
    ('<span style="background-image: url(http://127.0.0.1/x); font-style: italic" src="http://x" '
     'srcset="http://y 2x" onclick="x()" onmouseover="y()">s</span>',
     ["url(", "src=", "srcset", "onclick", "onmouseover", "background"], ['style="font-style: italic"']),
    ('<div style="position: fixed; top: 0; content: url(http://x)">d</div>', ["position", "content", "url("],
     ["<div>d</div>"]),
    ('<script>alert(1)</script><style>@import url(http://x)</style><iframe src="http://x">f</iframe>'
     '<object data="http://x">o</object><link rel="stylesheet" href="http://x"><meta http-equiv="refresh">'
     '<base href="http://x/"><svg><image href="file:///etc/passwd"/></svg>ok',
     ["script", "alert", "style", "@import", "iframe", "object", "link", "meta", "base", "svg", "image"], ["ok"]),
    ('<a href="#fn1" class="footnote-ref" id="fnref1" role="doc-noteref" epub:type="noteref" aria-label="1" '
     'data-n="1" lang="fr" dir="rtl">1</a>', [],
     ['href="#fn1"', 'class="footnote-ref"', 'id="fnref1"', 'role="doc-noteref"', 'epub:type="noteref"',
      'aria-label="1"', 'data-n="1"', 'lang="fr"', 'dir="rtl"']),
    ('<a href="https://example.org/">w</a><a href="mailto:editors@example.org">m</a>', [],
     ['href="https://example.org/"', 'href="mailto:editors@example.org"']),
    ('<table><colgroup><col style="width: 30%"></colgroup><tr><th style="text-align: right;" colspan="2">a</th>'
     '</tr></table><ol start="3" type="a"><li>x</li></ol>', [],
     ['style="width: 30%"', 'style="text-align: right"', 'colspan="2"', 'start="3"', 'type="a"']),
    ('<p>text <!-- a comment --> more</p>', ["comment"], ["text", "more"]),
])
def test_sanitize_fragment(fragment, gone, kept):
    out = sanitize_fragment(fragment)
    for bad in gone:
        assert bad not in out, f"{bad!r} survived: {out}"
    for good in kept:
        assert good in out, f"{good!r} lost: {out}"
    assert sanitize_fragment(out) == out, "cleaning twice changes nothing"


def test_sanitize_keeps_every_word():
    fragment = '<p>One <foo>two</foo> <span onclick="x">three</span> <a href="javascript:x">four</a></p>'
    assert etree.HTML(sanitize_fragment(fragment)).xpath("string()") == "One two three four"


@pytest.mark.parametrize("value, ok", [("#x", True), ("https://a.org/", True), ("http://a", True),
                                       ("mailto:a@b.org", True), ("http:x", False), ("https:///x", False),
                                       ("ftp://a/", False), ("file:///x", False), ("", False), ("x.md", False)])
def test_safe_href(value, ok):
    assert (safe_href(value) is not None) == ok


@pytest.mark.parametrize("value, ok", [("images/a.png", True), ("a/../b.png", True), ("a.png?x#y", True),
                                       ("../a.png", False), ("a/../../b.png", False), ("%2e%2e/a.png", False),
                                       ("/a.png", False), ("%2fetc/passwd", False), ("//h/a.png", False),
                                       ("C:\\a.png", False), ("file:a.png", False), ("data:,x", False),
                                       ("images/my%20picture.png", True), ("a%0a.png", False), ("a%09.png", False),
                                       ("java%20script:x", False), ("%20/a.png", True), ("a b.png", False)])
def test_safe_src(value, ok):
    assert (safe_src(value) is not None) == ok


def _fragments(manifest: Path) -> list[str]:
    from anthology import transforms
    from anthology.manifest import load_manifest
    from anthology.model import load_book

    book = load_book(load_manifest(manifest))
    pandoc.book_to_ast(book)
    transforms.apply(book)
    pandoc.book_to_html(book)
    return [f for p in book.parts for f in (p.html, p.headnote_html) if f.strip()] + [book.bibliography_html]


def _tree(fragment: str) -> list:
    import lxml.html
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    return [(el.tag, sorted((k, re.sub(r"\s+|;$", "", v) if k == "style" else v) for k, v in el.attrib.items()),
             el.text or "", el.tail or "") for el in root.iter() if isinstance(el.tag, str)]


@pytest.mark.parametrize("manifest", [ROOT / "manifest.yaml", ROOT / "tests/fixtures/books/tiny/manifest.yaml"],
                         ids=["default", "tiny"])
def test_sanitising_our_own_books_changes_nothing(manifest):
    fragments = _fragments(manifest)
    assert len(fragments) > 3
    for fragment in fragments:
        assert _tree(sanitize_fragment(fragment)) == _tree(fragment)


# --- the print renderer's URL fetcher ----------------------------------------------------------------

@pytest.fixture
def fetch_root(tmp_path):
    root = tmp_path / "book"
    (root / "images").mkdir(parents=True)
    Image.new("RGB", (30, 20), "#884422").save(root / "images" / "ok.png")
    (root / "images" / "huge.png").write_bytes(huge_png(20_000, 20_000))
    (root / "secret.txt").write_text(SECRET)
    return root


def _refused(fetcher, url: str):
    before = len(fetcher.refused)
    with pytest.raises(ValueError):
        fetcher.fetch(url)
    assert len(fetcher.refused) == before + 1
    return fetcher.refused[-1]


def test_fetcher_serves_files_inside_and_data_uris(fetch_root):
    fetcher = contained_fetcher([fetch_root, STYLES])
    assert fetcher.fetch((fetch_root / "images" / "ok.png").as_uri()).read()[:4] == b"\x89PNG"
    assert fetcher.fetch((STYLES / "print.css").as_uri()).read()
    small = base64.b64encode((fetch_root / "images" / "ok.png").read_bytes()).decode()
    assert fetcher.fetch(f"data:image/png;base64,{small}").read()[:4] == b"\x89PNG"
    assert fetcher.refused == []


@pytest.mark.parametrize("make, code, says", [
    (lambda root, port: "file:///etc/passwd", "B005", "outside the book's folder"),
    (lambda root, port: "file:///dev/zero", "B005", "outside the book's folder"),
    (lambda root, port: f"http://127.0.0.1:{port}/x.png", "B005", "not a file in the book's folder"),
    (lambda root, port: f"file://127.0.0.1:{port}{root}/secret.txt", "B005", "not a file in the book's folder"),
    (lambda root, port: _link(root / "zero.png", "/dev/zero").as_uri(), "B005", "outside the book's folder"),
    (lambda root, port: _link(root / "up.txt", "../outside.txt").as_uri(), "B005", "outside the book's folder"),
    (lambda root, port: fifo(root / "pipe.png").as_uri(), "B009", "named pipe"),
    (lambda root, port: (root / "images").as_uri(), "B009", "folder"),
    (lambda root, port: (root / "missing.otf").as_uri(), "B009", "does not exist"),
    (lambda root, port: (root / "images" / "huge.png").as_uri(), "G003", "20000 × 20000 px"),
    (lambda root, port: "data:image/png;base64," + base64.b64encode(huge_png(20_000, 20_000)).decode(), "G003",
     "20000 × 20000 px"),
])
def test_fetcher_refuses(fetch_root, listener, make, code, says):
    fetcher = contained_fetcher([fetch_root, STYLES])
    url = make(fetch_root, listener.port)
    start = time.perf_counter()
    with deadline(20):
        refusal = _refused(fetcher, url)
    assert time.perf_counter() - start < 5
    assert refusal.code == code and says in refusal.why, refusal.why
    assert listener.hits == []


def _link(path: Path, target: str) -> Path:
    path.symlink_to(target)
    return path


def test_fetcher_byte_limits(fetch_root, monkeypatch):
    fetcher = contained_fetcher([fetch_root, STYLES])
    monkeypatch.setattr(limits, "MAX_IMAGE_BYTES", 50)
    assert _refused(fetcher, (fetch_root / "images" / "ok.png").as_uri()).code == "G003"
    monkeypatch.setattr(limits, "MAX_RESOURCE_BYTES", 10)
    assert _refused(fetcher, (fetch_root / "secret.txt").as_uri()).code == "M010"


def test_the_image_limits_are_the_checks():
    from anthology.check import images
    assert (limits.MAX_IMAGE_PIXELS, limits.MAX_IMAGE_BYTES) == (images.MAX_PIXELS, images.MAX_BYTES)


def test_leftovers_of_a_killed_build_are_removed_one_level_down(tmp_path):
    from anthology.fsutil import remove_leftovers
    (tmp_path / ".cache" / "ast").mkdir(parents=True)
    left = [tmp_path / ".anthology-tmp-1.pdf", tmp_path / ".cache" / ".anthology-tmp-2.entry"]
    for path in left:
        path.write_bytes(b"partial")
    (tmp_path / "tiny.pdf").write_bytes(b"good")
    assert sorted(remove_leftovers(tmp_path)) == sorted(left)
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["tiny.pdf"]


# --- pandoc --------------------------------------------------------------------------------------------

def test_pandoc_runs_only_in_anthology_pandoc():
    for path in (ROOT / "anthology").rglob("*.py"):
        if path.name == "pandoc.py" and path.parent.name == "anthology":
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+pypandoc|get_pandoc_path|files/pandoc", text, re.M), \
            f"{path} runs pandoc itself"


def test_the_pandoc_that_came_with_us_unless_another_is_named(monkeypatch, tmp_path):
    """The pandoc pypandoc-binary installed, found without running every pandoc on the machine;
    PYPANDOC_PANDOC names another."""
    other = tmp_path / "pandoc"
    other.write_text("#!/bin/sh\necho 'pandoc 3.9'\n")
    other.chmod(0o755)
    monkeypatch.delenv("PYPANDOC_PANDOC", raising=False)
    pandoc.pandoc_path.cache_clear()
    try:
        ours = Path(pandoc.pandoc_path())
        assert (ours.parent.name, ours.parent.parent.name) == ("files", "pypandoc")
        monkeypatch.setenv("PYPANDOC_PANDOC", str(other))
        import pypandoc

        monkeypatch.setattr(pypandoc, "__pandoc_path", None)  # what pypandoc found before
        pandoc.pandoc_path.cache_clear()
        assert pandoc.pandoc_path() == str(other)
    finally:
        monkeypatch.undo()
        pandoc.pandoc_path.cache_clear()


def test_pandoc_runs_sandboxed_with_a_heap_limit(monkeypatch):
    seen = []
    real = pandoc.subprocess.run
    monkeypatch.setattr(pandoc.subprocess, "run", lambda cmd, **kw: seen.append((cmd, kw)) or real(cmd, **kw))
    assert pandoc.markdown_to_ast("Hello *world*")["blocks"]
    command, options = seen[0]
    assert command[1:8] == ["--sandbox", "+RTS", f"-M{limits.PANDOC_MEMORY}", pandoc.HEAP_HINT,
                           pandoc.OLD_GENERATION, pandoc.NURSERY, "-RTS"]
    assert options["timeout"] == limits.PANDOC_TIMEOUT
    assert "HOME" not in options["env"] and not any(k.lower().endswith("_proxy") for k in options["env"])


def test_pandoc_over_its_time_limit(good_book, capsys, monkeypatch):
    good_book.replace("texts/two.md", "markerb2", "markerb2 (a change, so pandoc runs again)")
    pandoc.version()  # cached: the cache's key asks for it
    monkeypatch.setattr(limits, "PANDOC_TIMEOUT", 0.001)
    err = build_fails(good_book, capsys, monkeypatch, "B006", "texts/two.md")
    assert "pandoc did not finish within 0.001 s" in err


def test_pandoc_over_its_memory_limit(good_book, capsys, monkeypatch):
    words = " ".join(["soviet"] * 12) + "\n"
    good_book.add_text("texts/long.md", words * 25_000)  # 2.1 MB: fine with 1 GB, not with 64 MB
    monkeypatch.setattr(limits, "PANDOC_MEMORY", "16m")
    err = build_fails(good_book, capsys, monkeypatch, "B007", "texts/long.md")
    assert "pandoc needed more than 16MB of memory" in err


@pytest.mark.parametrize("csl, says", [
    ('<?xml version="1.0"?>\n<!DOCTYPE style [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<style>&x;</style>',
     "DTD or entities"),
    ("<style><info>\n<title>broken", "not well-formed"),
])
def test_a_citation_style_with_entities_or_broken_xml(tmp_path, csl, says):
    path = tmp_path / "style.csl"
    path.write_text(csl)
    with pytest.raises(AnthologyError) as caught:
        pandoc.check_csl(path, "styles/style.csl")
    diagnostic = caught.value.diagnostics[0]
    assert (diagnostic.code, diagnostic.file) == ("C004", "styles/style.csl") and says in diagnostic.message


# --- a missing font ----------------------------------------------------------------------------------------

def test_a_missing_font(good_book, capsys, monkeypatch, tmp_path):
    from anthology.render import pdf

    styles = tmp_path / "styles"
    shutil.copytree(STYLES, styles)
    (styles / "fonts" / "eb-garamond-latin-600-normal.ttf").unlink()
    monkeypatch.setattr(pdf, "STYLES", styles)
    monkeypatch.setattr(pdf, "OUTPUT_PROFILE", styles / "icc" / pdf.OUTPUT_PROFILE.name)
    err = build_fails(good_book, capsys, monkeypatch, "B009", "styles/fonts/eb-garamond-latin-600-normal.ttf",
                      "--no-cache")
    assert "does not exist" in err


# --- a hostile text, built for real ---------------------------------------------------------------------

def _hostile_book(root: Path, port: int) -> Book:
    book = Book(root)
    (root / "images").mkdir(exist_ok=True)
    Image.new("RGB", (600, 400), "#884422").save(root / "images" / "figure.png")
    (root / "secret.txt").write_text(SECRET + "\n")
    text = (BAD / "hostile-print.md").read_text().replace("LOOPBACK", f"127.0.0.1:{port}")
    book.write("texts/hostile.md", text)
    book.replace("manifest.yaml", "  - back: sources", "  - text: texts/hostile.md\n  - back: sources")
    return book


@pytest.fixture(scope="module")
def hostile_build(tiny_book, tmp_path_factory, listener):
    """The tiny book plus texts/hostile.md, built (PDF and EPUB) through `anthology build`."""
    from anthology.cli import main

    book = _hostile_book(copy_good_book(tiny_book, tmp_path_factory.mktemp("hostile") / "book").root, listener.port)
    cwd = os.getcwd()
    os.chdir(book.root)
    try:
        status = main(["build", "manifest.yaml"])
    finally:
        os.chdir(cwd)
    assert status == 0, ("the hostile text must build once its HTML is sanitised (anthology.sanitize."
                         "sanitize_fragment on every part's html and headnote_html in anthology/build.py)")
    return book, book.build / "tiny.pdf", book.build / "tiny.epub"


def _pdf_objects(reader: PdfReader):
    for number in range(1, int(reader.trailer["/Size"])):
        try:
            yield reader.get_object(number)
        except Exception:  # free entries
            continue


def test_the_hostile_pdf_has_no_attachment_and_no_local_file(hostile_build, listener):
    from pypdf.generic import StreamObject

    book, pdf, _ = hostile_build
    reader = PdfReader(str(pdf))
    root = reader.trailer["/Root"]
    assert "/EmbeddedFiles" not in (root.get("/Names") or {}) and "/AF" not in root
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            assert annot.get("/Subtype") != "/FileAttachment", "an attachment was embedded"
            action = annot.get("/A") or {}
            assert action.get("/S") in (None, "/URI", "/GoTo"), action
            uri = str(action.get("/URI", ""))
            assert not re.match(r"(?i)\s*(javascript|file|data|vbscript):", uri), uri
    leak = passwd_line()
    for obj in _pdf_objects(reader):
        if isinstance(obj, StreamObject):
            data = obj.get_data()
            assert SECRET.encode() not in data, "a file of the book's folder was embedded"
            assert leak is None or leak not in data, "/etc/passwd was embedded"
            assert b"/EmbeddedFile" not in data
    assert b"/EmbeddedFile" not in pdf.read_bytes() and b"/FileAttachment" not in pdf.read_bytes()
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    assert "markerhostile" in text and "the password file" in text, "the hostile text itself is printed"
    assert listener.hits == [], f"the build made network requests: {listener.hits}"


def test_the_hostile_epub_has_no_script_handler_or_local_file(hostile_build, listener):
    _, _, epub = hostile_build
    leak = passwd_line()
    with zipfile.ZipFile(epub) as z:
        for name in z.namelist():
            data = z.read(name)
            assert SECRET.encode() not in data and (leak is None or leak not in data), name
            assert b"secret.txt" not in data or not name.endswith(".opf"), "a book file was packaged"
            if not name.endswith((".xhtml", ".opf", ".ncx")):
                continue
            doc = etree.fromstring(data)
            assert not doc.xpath("//*[local-name()='script' or local-name()='iframe' or local-name()='object']")
            for el in doc.iter():
                for attr, value in el.attrib.items():
                    assert not etree.QName(attr).localname.lower().startswith("on"), f"{name}: {attr}"
                    assert not re.match(r"(?i)\s*(javascript|vbscript|file):", value), f"{name}: {value}"
                    assert "127.0.0.1" not in value or etree.QName(attr).localname == "href", f"{name}: {value}"
    assert listener.hits == []


def test_the_fetcher_stops_an_unsanitised_attachment(tiny_book, tmp_path, listener):
    """Defence in depth: the same text rendered *without* the sanitiser is refused (B005), naming
    the text and line of the first resource WeasyPrint asked for, and nothing is written."""
    from anthology import transforms
    from anthology.manifest import load_manifest
    from anthology.model import load_book
    from anthology.render import blocks
    from anthology.render.pdf import write_pdf

    book_dir = _hostile_book(copy_good_book(tiny_book, tmp_path / "book").root, listener.port)
    book = load_book(load_manifest(book_dir.manifest))
    pandoc.book_to_ast(book)
    transforms.apply(book)
    pandoc.book_to_html(book)
    blocks.number_book(book)
    target = tmp_path / "out" / "hostile.pdf"
    with pytest.raises(AnthologyError) as caught:
        write_pdf(book, target)
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "B005" and diagnostic.file == "texts/hostile.md" and diagnostic.line, diagnostic
    assert not target.exists() and not list(target.parent.glob(".anthology-tmp-*"))
    assert listener.hits == []
