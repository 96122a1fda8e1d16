"""The EPUB: EPUBCheck, notes, the print page-list, metadata, cover, and hostile texts.

Real builds and real EPUBCheck; books are built once per session (conftest and
`hostile_book` below).
"""
from __future__ import annotations

import copy
import io
import logging
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import FIXTURES, epubcheck_result
from helpers import NS, epub_documents, epub_opf, pdf_pages, squash
from lxml import etree
from PIL import Image

from anthology.manifest import load_manifest
from anthology.messages import AnthologyError
from anthology.model import load_book
from anthology.render.blocks import PageStart
from anthology.transforms.notes import SYMBOLS

OPF_NS = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}
A11Y_FEATURES = {"structuralNavigation", "tableOfContents", "pageNavigation", "printPageNumbers", "readingOrder"}


# --- fixtures and helpers ---------------------------------------------------------------------

class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture(scope="session")
def hostile_book(tmp_path_factory):
    """The tiny book plus a text that tries every way into the EPUB, built (EPUB only) twice."""
    from anthology.build import build
    root = tmp_path_factory.mktemp("hostile") / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root)
    shutil.copy(FIXTURES / "epub" / "hostile.md", root / "texts" / "hostile.md")
    (root / "images").mkdir()
    Image.new("RGB", (60, 40), "#884422").save(root / "images" / "figure.png")
    manifest = root / "manifest.yaml"
    text = manifest.read_text().replace("  - back: sources", "  - text: texts/hostile.md\n  - back: sources")
    manifest.write_text(text + "  epub:\n    accessibility-certified-by: Test Evaluator\n")
    records = _Records()
    logging.getLogger("anthology").addHandler(records)
    try:
        first = build(manifest, only=("epub",)).outputs["epub"]
        again = build(manifest, root / "again", only=("epub",)).outputs["epub"]
    finally:
        logging.getLogger("anthology").removeHandler(records)
    return first, again, records.messages


def _opf_meta(opf, prop: str) -> list[str]:
    return [(m.text or "").strip() for m in opf.xpath(f"//opf:meta[@property='{prop}']", namespaces=OPF_NS)]


def _spine_files(path) -> list[str]:
    opf = epub_opf(str(path))
    hrefs = {i.get("id"): i.get("href") for i in opf.xpath("//opf:manifest/opf:item", namespaces=OPF_NS)}
    return [f"EPUB/{hrefs[ref]}" for ref in opf.xpath("//opf:spine/opf:itemref/@idref", namespaces=OPF_NS)]


def _page_list(docs) -> list[tuple[str, str]]:
    nav = docs["EPUB/nav.xhtml"]
    return [(a.text, a.get("href")) for a in nav.xpath("//x:nav[@epub:type='page-list']//x:a", namespaces=NS)]


def _marker_context(doc) -> dict[int, tuple[str, str, bool]]:
    """Print page number -> (reading text before its marker, after it, whether it is inside a paragraph)."""
    doc = copy.deepcopy(doc)
    for aside in doc.xpath("//x:aside", namespaces=NS):
        aside.getparent().remove(aside)
    inside = {}
    for mark in doc.xpath("//x:span[@epub:type='pagebreak']", namespaces=NS):
        inside[int(mark.get("aria-label"))] = etree.QName(mark.getparent()).localname in ("p", "li", "blockquote")
        mark.text = f"\ue000{mark.get('aria-label')}\ue000"
    parts = "".join(doc.find("x:body", NS).itertext()).split("\ue000")
    text_parts = parts[0::2]
    return {int(parts[i]): ("".join(text_parts[: i // 2 + 1]), "".join(text_parts[i // 2 + 1:]), inside[int(parts[i])])
            for i in range(1, len(parts), 2)}


# --- EPUBCheck ---------------------------------------------------------------------------------

def test_default_epub_passes_epubcheck_without_errors_or_warnings(default_book):
    _, out = default_book
    result = epubcheck_result(out["epub"])
    problems = [m for m in result.messages if m.level in ("FATAL", "ERROR", "WARNING")]
    assert problems == []
    assert (result.checker.nFatal, result.checker.nError, result.checker.nWarning) == (0, 0, 0)
    assert result.valid


def test_hostile_epub_passes_epubcheck_without_errors_or_warnings(hostile_book):
    result = epubcheck_result(hostile_book[0])
    problems = [m for m in result.messages if m.level in ("FATAL", "ERROR", "WARNING")]
    assert problems == [] and result.valid


# --- notes ---------------------------------------------------------------------------------------

def test_default_notes_are_asides_in_the_same_file_numbered_as_in_print(default_book):
    _, out = default_book
    docs = epub_documents(str(out["epub"]))
    total = 0
    for name, doc in docs.items():
        refs = doc.xpath("//x:a[@epub:type='noteref']", namespaces=NS)
        numbered = [r.text for r in refs if r.text.isdigit()]
        assert numbered == [str(n) for n in range(1, len(numbered) + 1)], f"{name}: numbering"
        assert all(set(r.text) <= set(SYMBOLS) for r in refs if not r.text.isdigit()), f"{name}: symbols"
        for ref in refs:
            assert ref.get("role") == "doc-noteref"
            note_id = ref.get("href").lstrip("#")
            aside = doc.xpath(f"//x:aside[@id='{note_id}'][@epub:type='footnote'][@role='doc-footnote']",
                              namespaces=NS)
            assert aside, f"{name}: note {note_id} is not in the same file"
            back = aside[0].xpath(".//x:a[@role='doc-backlink']", namespaces=NS)
            assert [b.get("href") for b in back] == [f"#{ref.get('id')}"]
            assert back[0].text == f"{ref.text}."
            assert "".join(aside[0].itertext()).strip() != back[0].text
        total += len(refs)
    assert total >= 18


# --- the print page-list -------------------------------------------------------------------------

def test_page_list_has_one_entry_per_printed_page_in_reading_order(default_book):
    _, out = default_book
    docs = epub_documents(str(out["epub"]))
    printed = len(pdf_pages(str(out["pdf"])))
    entries = _page_list(docs)
    assert [label for label, _ in entries] == [str(n) for n in range(1, printed + 1)]
    in_reading_order = []
    for name in _spine_files(out["epub"]):
        for mark in docs[name].xpath("//x:span[@epub:type='pagebreak']", namespaces=NS):
            assert mark.get("role") == "doc-pagebreak" and mark.get("id") == f"page-{mark.get('aria-label')}"
            in_reading_order.append((mark.get("aria-label"), f"{Path(name).name}#{mark.get('id')}"))
    assert in_reading_order == entries, "the markers are not where the page-list says, or not in order"
    opf = epub_opf(str(out["epub"]))
    assert _opf_meta(opf, "pageBreakSource") and _opf_meta(opf, "pageBreakSource")[0]


def test_page_markers_stand_where_the_printed_pages_begin(default_book):
    _, out = default_book
    pdf = [squash(t) for t in pdf_pages(str(out["pdf"]))]
    docs = epub_documents(str(out["epub"]))
    context = {}
    for name in _spine_files(out["epub"]):
        context.update(_marker_context(docs[name]))
    mid_paragraph = checked = 0
    for number, (before, after, in_paragraph) in sorted(context.items()):
        page = pdf[number - 1]
        if len(page) < 20:  # a blank page: its marker stands just before the next page's
            continue
        checked += 1
        # the first word may have begun on the previous page (hyphenated); compare what follows it
        probe = squash(" ".join(after.split()[1:9]))[:30]
        if not (probe and probe in page and page.find(probe) < 160):
            pytest.fail(f"page {number}: {after[:80]!r} is not at the top of that printed page")
        if in_paragraph:  # and what comes just before it ends the previous page
            tail = squash(" ".join(before.split()[-8:]))[-30:]
            assert tail in pdf[number - 2], f"page {number}: {before[-80:]!r} is not on the page before"
            mid_paragraph += 1
    assert checked >= len(pdf) * 3 // 4
    assert mid_paragraph >= 5, "too few pages that begin inside a paragraph were checked"


def test_markers_go_to_the_exact_character_even_around_notes_and_inline_markup():
    from anthology.render.epub_pages import Page, parse, place_page_markers

    root = parse('<section id="s"><header class="opener"><h1>T</h1></header><div class="body">'
                 '<p data-b="0">Alpha <em>beta</em> gam<span class="footnote" id="s-fn1" data-n="1">NOTE</span>'
                 'ma delta</p><p data-b="1">Second para</p></div></section>')
    page = Page("s.xhtml", "T", "en", root)
    starts = [PageStart(1, "s", None, 0), PageStart(2, None, None, 0), PageStart(3, "s", 0, 6),
              PageStart(4, "s", 0, 13), PageStart(5, "s", 1, 0), PageStart(6, None, None, 0)]
    entries = place_page_markers([page], starts)
    assert entries == [(n, "s.xhtml") for n in range(1, 7)]
    html = etree.tostring(root, encoding="unicode")
    html = re.sub(r'<span [^>]*id="page-(\d+)"[^>]*></span>', r"[\1]", html)
    html = re.sub(r"\sdata-b=\"\d\"", "", html)
    assert html.startswith('<div><section id="s">[1]<header')
    # offset 6 is "beta" (placed before its <em>), after the blank page 2; 13 falls inside "gamma": moved
    # to its start, counting no note text
    assert '<p>Alpha [2][3]<em>beta</em> [4]gam<span class="footnote"' in html
    assert "</p>[5]<p>Second para</p>" in html
    assert html.endswith("[6]</section></div>")


# --- metadata ------------------------------------------------------------------------------------

def test_package_metadata_and_accessibility(default_book):
    from anthology.render.pdf import fixed_date

    manifest, out = default_book
    opf = epub_opf(str(out["epub"]))
    book = load_book(load_manifest(manifest))
    assert opf.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert opf.xpath("//dc:title/text()", namespaces=OPF_NS) == [book.meta["title"]]
    editors = opf.xpath("//dc:creator", namespaces=OPF_NS)
    assert [e.text for e in editors] == book.meta["editors"]
    roles = {m.get("refines"): m.text for m in opf.xpath("//opf:meta[@property='role']", namespaces=OPF_NS)}
    assert all(roles[f"#{e.get('id')}"] == "edt" for e in editors)
    contributors = [c.text for c in opf.xpath("//dc:contributor", namespaces=OPF_NS)]
    assert {p.author for p in book.texts} <= set(contributors)
    identifier = opf.xpath("//dc:identifier/text()", namespaces=OPF_NS)[0]
    assert identifier.startswith(("urn:uuid:", "urn:isbn:"))
    assert _opf_meta(opf, "dcterms:modified") == [fixed_date(book).replace("+00:00", "Z")]
    assert set(_opf_meta(opf, "schema:accessMode")) >= {"textual"}
    assert _opf_meta(opf, "schema:accessModeSufficient") == ["textual"]
    assert A11Y_FEATURES <= set(_opf_meta(opf, "schema:accessibilityFeature"))
    assert _opf_meta(opf, "schema:accessibilityHazard") == ["none"]
    assert len(_opf_meta(opf, "schema:accessibilitySummary")[0]) > 40
    # no one has certified the default book, so it claims no conformance
    assert _opf_meta(opf, "dcterms:conformsTo") == []


def test_a_conformance_claim_needs_an_evaluator_and_described_images(hostile_book, tmp_path):
    from ebooklib import epub

    from anthology.render.epub_meta import CONFORMANCE, describe

    # the hostile text has an image without a description: no claim, evaluator or not
    with zipfile.ZipFile(hostile_book[0]) as z:
        opf = etree.fromstring(z.read("EPUB/content.opf"))
    assert _opf_meta(opf, "dcterms:conformsTo") == []
    book = load_book(load_manifest(Path(hostile_book[0]).parent.parent / "manifest.yaml"))
    eb = epub.EpubBook()
    describe(eb, book, has_pages=True, images_described=True, has_images=True)
    metas = {(attrs.get("property"), value) for value, attrs in eb.get_metadata(None, "meta")}
    assert ("dcterms:conformsTo", CONFORMANCE) in metas and ("a11y:certifiedBy", "Test Evaluator") in metas
    assert ("schema:accessMode", "visual") in metas


def test_navigation_has_texts_authors_sections_and_landmarks(tiny_book):
    _, out = tiny_book
    docs = epub_documents(str(out["epub"]))
    nav = docs["EPUB/nav.xhtml"]
    toc = nav.xpath("//x:nav[@epub:type='toc']", namespaces=NS)[0]
    entries = {"".join(a.itertext()): a.get("href") for a in toc.xpath(".//x:a", namespaces=NS)}
    assert entries["The First Fixture Text — Ada Author"] == "one.xhtml"
    assert entries["Section a4"] == "one.xhtml#one--section-a4"
    for href in entries.values():
        file, _, frag = href.partition("#")
        target = docs[f"EPUB/{file}"]
        assert not frag or target.xpath(f"//*[@id='{frag}']"), f"{href} leads nowhere"
    marks = {a.get(f"{{{NS['epub']}}}type"): a.get("href")
             for a in nav.xpath("//x:nav[@epub:type='landmarks']//x:a", namespaces=NS)}
    assert marks["cover"] == "cover.xhtml" and marks["toc"] == "contents.xhtml"
    assert marks["bodymatter"] == "intro.xhtml"
    contents = docs["EPUB/contents.xhtml"]
    assert contents.xpath("//x:a[@href='one.xhtml']", namespaces=NS)


# --- cover ---------------------------------------------------------------------------------------

def test_cover_is_declared_described_and_1600_by_2560(default_book):
    _, out = default_book
    opf = epub_opf(str(out["epub"]))
    item = opf.xpath("//opf:item[@properties='cover-image']", namespaces=OPF_NS)
    assert len(item) == 1 and item[0].get("media-type") == "image/jpeg"
    with zipfile.ZipFile(out["epub"]) as z:
        image = Image.open(io.BytesIO(z.read(f"EPUB/{item[0].get('href')}")))
        assert (image.format, image.size) == ("JPEG", (1600, 2560))
        cover = etree.fromstring(z.read("EPUB/cover.xhtml"))
    img = cover.xpath("//x:*[@epub:type='cover']//x:img", namespaces=NS)
    assert img and img[0].get("src") == item[0].get("href") and img[0].get("role") == "doc-cover"
    assert "Workers" in img[0].get("alt")
    assert opf.xpath("//opf:meta[@name='cover']/@content", namespaces=OPF_NS) == [item[0].get("id")]
    assert _spine_files(out["epub"])[0] == "EPUB/cover.xhtml"


def test_drawn_cover_is_deterministic_and_wraps_long_titles():
    from anthology.render.cover import DEFAULT_COLORS, draw_cover, wrap, _font

    meta = {"title": "A Very Long Title About the Factory Committees of Petrograd, Moscow and the Urals in "
                     "the Years of Revolution", "subtitle": "Essays", "editors": ["A. Editor", "B. Editor"]}
    first, second = draw_cover(meta, DEFAULT_COLORS), draw_cover(meta, DEFAULT_COLORS)
    assert first == second
    assert Image.open(io.BytesIO(first)).size == (1600, 2560)
    font = _font("EBGaramond12-Regular.otf", 150)
    lines = wrap(meta["title"], font, 1260)
    assert len(lines) > 2 and all(font.getlength(line) <= 1260 for line in lines)
    assert " ".join(lines) == meta["title"]


def _book_with_cover(tmp_path, image: Image.Image | None, fmt="PNG", colors=None, raw: bytes | None = None):
    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root)
    extra = "  epub:\n"
    if image is not None or raw is not None:
        path = root / f"cover.{fmt.lower()}"
        if raw is not None:
            path.write_bytes(raw)
        else:
            image.save(path, fmt)
        extra += f"    cover-image: {path.name}\n"
    if colors is not None:
        extra += f"    cover-colors: {colors}\n"
    manifest = root / "manifest.yaml"
    manifest.write_text(manifest.read_text() + extra)
    return load_book(load_manifest(manifest))


@pytest.mark.parametrize("size, fmt, raw, code", [
    ((1600, 1600), "PNG", None, "E003"),
    ((800, 1280), "PNG", None, "E002"),
    ((1600, 2560), "GIF", None, "E001"),
    (None, "JPG", b"not an image at all", "E001"),
])
def test_editors_cover_is_checked_with_a_coded_error(tmp_path, size, fmt, raw, code):
    from anthology.render.cover import make_cover

    book = _book_with_cover(tmp_path, Image.new("RGB", size, "#336699") if size else None, fmt, raw=raw)
    with pytest.raises(AnthologyError) as caught:
        make_cover(book)
    assert [d.code for d in caught.value.diagnostics] == [code]
    assert "cover.gif" in str(caught.value) or "cover." in str(caught.value)


def test_editors_cover_of_the_right_shape_is_used_as_it_is(tmp_path):
    from anthology.render.cover import make_cover

    book = _book_with_cover(tmp_path, Image.new("RGB", (1600, 2560), "#336699"))
    cover = make_cover(book)
    assert cover.media_type == "image/png" and cover.file_name == "images/cover.png"
    assert cover.data == (book.manifest.root / "cover.png").read_bytes()


def test_bad_cover_colours_are_a_coded_error(tmp_path):
    from anthology.render.cover import make_cover

    with pytest.raises(AnthologyError) as caught:
        make_cover(_book_with_cover(tmp_path, None, colors="['red', '#ffffff']"))
    assert caught.value.diagnostics[0].code == "E004"


def test_a_cover_drawn_beside_the_layout_still_stops_the_build(tmp_path):
    """The build makes the cover in a thread while the print edition is laid out (cover.start_cover):
    what is wrong with it stops the build all the same, and no EPUB is written."""
    from anthology.build import build

    book = _book_with_cover(tmp_path, None, fmt="JPG", raw=b"not an image at all")
    with pytest.raises(AnthologyError) as caught:
        build(book.manifest.file, tmp_path / "out", ("epub",))
    assert [d.code for d in caught.value.diagnostics] == ["E001"]
    assert not list((tmp_path / "out").glob("*.epub"))


# --- hostile texts -------------------------------------------------------------------------------

def test_nothing_unsafe_or_remote_reaches_the_epub(hostile_book):
    path, _, messages = hostile_book
    docs = epub_documents(str(path))
    hostile = docs["EPUB/hostile.xhtml"]
    assert "a click" in "".join(hostile.itertext()), "the text itself must survive"
    assert "<script>alert(7)</script>" in "".join(hostile.itertext()), "markup typed as text stays text"
    for name, doc in docs.items():
        for tag in ("script", "iframe", "form", "input", "object", "embed", "style", "frame"):
            assert not doc.xpath(f"//x:{tag}", namespaces=NS), f"{name}: <{tag}>"
        for el in doc.iter():
            for attr, value in el.attrib.items():
                assert not attr.lower().startswith("on"), f"{name}: {attr}={value!r}"
                assert "url(" not in value.lower() or attr != "style", f"{name}: style {value!r}"
                if attr in ("href", "src", "formaction", "action", "data", "cite"):
                    bare = re.sub(r"[\x00-\x20]+", "", value).lower()
                    assert not bare.startswith(("javascript:", "vbscript:", "data:", "file:")), f"{name}: {value}"
                if attr == "src":
                    assert not re.match(r"^([a-z][a-z0-9+.-]*:|//)", value.lower()), f"{name}: remote src {value}"
                    assert el.tag == f"{{{NS['x']}}}img"
    # forged semantics are gone: the only page markers are the real ones, no fake footnotes
    for mark in hostile.xpath("//*[@epub:type='pagebreak' or @role='doc-pagebreak']", namespaces=NS):
        assert mark.get("id") == f"page-{mark.get('aria-label')}" and mark.get("aria-label") != "99"
    assert not hostile.xpath("//x:div[@epub:type or @role]", namespaces=NS)
    assert len(hostile.xpath("//*[@id='twice']")) == 1
    # the remote style was cleaned away before layout: the print edition and the page-list exist
    assert docs["EPUB/nav.xhtml"].xpath("//x:nav[@epub:type='page-list']", namespaces=NS)


def test_links_lead_somewhere_and_local_images_are_packaged(hostile_book):
    path = hostile_book[0]
    docs = epub_documents(str(path))
    hostile = docs["EPUB/hostile.xhtml"]
    hrefs = {"".join(a.itertext()): a.get("href") for a in hostile.xpath("//x:a", namespaces=NS)}
    assert hrefs["mail"] == "mailto:editors@example.org" and hrefs["web"] == "https://example.org/"
    assert hrefs["the first text’s section"] == "one.xhtml#one--section-a4"
    for dead in ("a file", "an absolute path", "a host", "a script link", "data", "vb"):
        assert hrefs[dead] is None, f"{dead}: {hrefs[dead]}"
    images = hostile.xpath("//x:img", namespaces=NS)
    assert len(images) == 2 and {i.get("alt") for i in images} == {"A local figure", ""}
    opf = epub_opf(str(path))
    manifest = set(opf.xpath("//opf:item/@href", namespaces=OPF_NS))
    with zipfile.ZipFile(path) as z:
        for img in images:
            assert img.get("src") in manifest
            assert Image.open(io.BytesIO(z.read(f"EPUB/{img.get('src')}"))).size == (60, 40)


def test_remote_and_missing_images_never_reach_the_epub(tmp_path):
    """The build refuses them (anthology check); the EPUB renderer on its own drops them too."""
    from anthology import pandoc, transforms
    from anthology.build import build
    from anthology.render import blocks
    from anthology.render.epub import write_epub

    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root)
    shutil.copy(FIXTURES / "epub" / "remote-images.md", root / "texts" / "remote.md")
    manifest = root / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("  - back: sources", "  - text: texts/remote.md\n  - back: sources"))
    with pytest.raises(AnthologyError) as refused:
        build(manifest)
    assert {"G001", "G002"} <= {d.code for d in refused.value.diagnostics}

    book = load_book(load_manifest(manifest))  # the stages of `build`, without the check
    pandoc.book_to_ast(book)
    transforms.apply(book)
    pandoc.book_to_html(book)
    blocks.number_book(book)
    records = _Records()
    logging.getLogger("anthology").addHandler(records)
    try:
        path = write_epub(book, tmp_path / "remote.epub")
    finally:
        logging.getLogger("anthology").removeHandler(records)
    docs = epub_documents(str(path))
    for name, doc in docs.items():
        for img in doc.xpath("//x:img", namespaces=NS):
            assert name == "EPUB/cover.xhtml", f"{name}: {img.get('src')}"
    text = "".join(docs["EPUB/remote.xhtml"].itertext())
    for alt in ("[A remote picture]", "[Another remote picture]", "[A data picture]", "[A missing figure]"):
        assert alt in text, "what an image that cannot come says is kept"
    assert any("E006" in m and "images/missing.png" in m for m in records.messages)
    assert any("E005" in m and "remote.md" in m for m in records.messages)
    assert epubcheck_result(path).valid


def test_the_same_manifest_gives_the_same_epub_bytes(hostile_book):
    first, again, _ = hostile_book
    assert Path(first).read_bytes() == Path(again).read_bytes()
    with zipfile.ZipFile(first) as z:
        names = z.namelist()
        assert names[0] == "mimetype" and z.getinfo("mimetype").compress_type == zipfile.ZIP_STORED


# --- an EPUB edition of its own (output.epub.page-list: none) ----------------------------------

@pytest.fixture(scope="session")
def epub_edition(tmp_path_factory):
    """The tiny book as an EPUB that follows no print pages, built alone: (epub, layout records)."""
    from anthology.build import build
    from helpers import log_records
    root = tmp_path_factory.mktemp("edition") / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root)
    manifest = root / "manifest.yaml"
    manifest.write_text(manifest.read_text() + "  epub:\n    page-list: none\n")
    with log_records("anthology") as records:
        result = build(manifest, only=("epub",))
    assert set(result.outputs) == {"epub"}
    return result.outputs["epub"], records


def test_an_epub_edition_is_built_without_a_print_layout_and_passes_epubcheck(epub_edition):
    from helpers import chunks_laid_out
    epub, records = epub_edition
    assert chunks_laid_out(records, folios=True) == []
    result = epubcheck_result(epub)
    assert [m for m in result.messages if m.level in ("FATAL", "ERROR", "WARNING")] == [] and result.valid


def test_an_epub_edition_claims_no_print_pages(epub_edition):
    epub, _ = epub_edition
    docs = epub_documents(str(epub))
    assert _page_list(docs) == []
    assert not docs["EPUB/nav.xhtml"].xpath("//x:nav[@epub:type='page-list']", namespaces=NS)
    assert all(not doc.xpath("//x:span[@epub:type='pagebreak']", namespaces=NS) for doc in docs.values())
    opf = epub_opf(str(epub))
    assert _opf_meta(opf, "pageBreakSource") == []
    assert not {"pageNavigation", "printPageNumbers"} & set(_opf_meta(opf, "schema:accessibilityFeature"))


def test_an_epub_editions_index_names_the_texts_and_links_to_the_first_occurrence_in_each(epub_edition):
    epub, _ = epub_edition
    docs = epub_documents(str(epub))
    index = next(doc for name, doc in docs.items() if name.endswith("index.xhtml"))
    entries = {" ".join((li.text or "").split()).rstrip(", "): li
               for li in index.xpath("//x:li[@class='ix-entry' or @class='ix-sub']", namespaces=NS)}
    forms = {"railway workers": "railway", "soviets": "soviet", "delegates to": "delegate", "Author, Ada": "ada author"}
    assert set(forms) <= set(entries)
    named = set()
    for label, form in forms.items():
        links = entries[label].xpath("x:a", namespaces=NS)
        assert links, f"{label}: no locator"
        for a in links:
            file, _, anchor = a.get("href").partition("#")
            target = docs[f"EPUB/{file}"].xpath(f"//*[@id='{anchor}']")
            assert target, f"{label}: {a.get('href')} leads nowhere"
            paragraph = target[0].xpath("ancestor::*[self::x:p or self::x:li or self::x:aside][1]", namespaces=NS)
            assert squash(form) in squash("".join(paragraph[0].itertext())), f"{label}: not at {a.get('href')}"
            named.add(a.text)
        assert [a.text for a in links] == sorted((a.text for a in links), key=_reading_order(docs))
    assert named <= {"Author", "Writer", "Introduction"} and {"Author", "Writer"} <= named


def _reading_order(docs):
    order = ["Introduction", "Author", "Writer"]
    return lambda label: order.index(label) if label in order else len(order)


def test_index_labels_use_titles_where_surnames_would_be_ambiguous():
    from types import SimpleNamespace

    from anthology.render.index import part_labels

    def part(ident, kind, title, **meta):
        return SimpleNamespace(id=ident, kind=kind, title=title, meta=meta)

    parts = [part("intro", "front", "Introduction", author="The Editors"),
             part("a", "text", "On Councils", author="Jane Smith"), part("b", "text", "On Committees", author="Smith, John"),
             part("c", "text", "Kronstadt", author="Ida Mett"), part("d", "text", "Letters", author="Martin Luther King Jr."),
             part("e", "text", "The Bolsheviks", author="Christopher Pallis", **{"pen-name": "Maurice Brinton"}),
             part("f", "text", "Notes", author=["Anton Pannekoek", "Karl Korsch"]), part("g", "text", "Workers' Control"),
             part("h", "text", "Strength to Love", author="Coretta King, Jr.")]
    book = SimpleNamespace(parts=parts, texts=parts[1:])
    assert part_labels(book) == {"intro": "Introduction", "a": "On Councils", "b": "On Committees", "c": "Mett",
                                 "d": "Letters", "e": "Brinton", "f": "Pannekoek", "g": "Workers’ Control",
                                 "h": "Strength to Love"}


@pytest.mark.parametrize("name, family", [("John Smith", "Smith"), ("Smith, John", "Smith"),
                                          ("Martin Luther King Jr.", "King"), ("Martin Luther King, Jr.", "King"),
                                          (["Anton Pannekoek", "Karl Korsch"], "Pannekoek"), ("", ""), (None, ""),
                                          ("Ursula K. Le Guin", "Le Guin"), ("Martin Van Buren", "Van Buren"),
                                          ("Juana Inés De la Cruz", "De la Cruz"), ("Vincent van Gogh", "Gogh"),
                                          ("Johannes Diderik van der Waals", "Waals"), ("Van Morrison", "Morrison"),
                                          ("Le Corbusier", "Le Corbusier"), ("Carlos De Los Santos", "De Los Santos"),
                                          ("Martin Van Buren Jr.", "Van Buren"), ("de Gaulle", "Gaulle"),
                                          ("Le Guin, Ursula K.", "Le Guin")])
def test_surnames_as_an_index_gives_them(name, family):
    from anthology.render.index import surname
    assert surname(name) == family
