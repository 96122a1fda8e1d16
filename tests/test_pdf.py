"""The print PDF of the default book, read back page by page."""
from __future__ import annotations

import re

import pytest
from helpers import pdf_pages, squash
from pypdf import PdfReader

from anthology.manifest import load_manifest
from anthology.model import load_book
from anthology.render import preflight
from anthology.render.html import display_author
from anthology.render.pdf import STYLES

FONTS = STYLES / "fonts"


@pytest.fixture(scope="module")
def book(default_book):
    manifest, out = default_book
    return load_book(load_manifest(manifest)), str(out["pdf"])


def _contents_page(pdf: str) -> int:
    return min(i for i, text in enumerate(pdf_pages(pdf)) if text.lstrip().startswith("Contents"))


def _opener_pages(book, pdf: str) -> dict[str, int]:
    """0-based index of the page where each part begins, from the bookmarks, checked against the text."""
    reader = PdfReader(pdf)
    top = [o for o in reader.outline if not isinstance(o, list)]
    assert top[0].title == "Contents"
    top = top[1:]
    assert [o.title for o in top] == [p.title for p in book.parts], "bookmarks follow the contents"
    found = {}
    for part, mark in zip(book.parts, top):
        index = reader.get_destination_page_number(mark)
        assert squash(part.title) in squash(pdf_pages(pdf)[index]), f"{part.title!r} not on its bookmarked page"
        found[part.id] = index
    return found


def test_preflight_passes(book):
    model, pdf = book
    report = preflight.inspect(pdf, model.manifest.output)
    assert report.problems == []


def test_press_pdf_is_pdf_x4_with_cmyk_intent(book):
    _, pdf = book
    reader = PdfReader(pdf)
    intent = reader.trailer["/Root"]["/OutputIntents"][0].get_object()
    assert intent["/S"] == "/GTS_PDFX"
    assert intent["/DestOutputProfile"].get_object()["/N"] == 4
    assert b"PDF/X-4" in reader.xmp_metadata.stream.get_data()
    for page in reader.pages:
        assert "/TrimBox" in page


def _vendored_families() -> set[str]:
    from fontTools.ttLib import TTFont
    names = set()
    for path in FONTS.iterdir():
        if path.suffix in (".otf", ".ttf", ".woff2", ".woff"):
            table = TTFont(path)["name"]
            names |= {squash(table.getDebugName(i) or "") for i in (1, 6, 16)} - {""}
    return names


def test_fonts_are_only_the_vendored_faces_all_embedded(book):
    _, pdf = book
    families = _vendored_families()
    faces = set()
    for page in PdfReader(pdf).pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            face = str(font["/BaseFont"]).split("+", 1)[-1]
            faces.add(face)
            descendants = font.get("/DescendantFonts") or [font]
            for d in descendants:
                descriptor = d.get_object()["/FontDescriptor"].get_object()
                assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), f"{face} not embedded"
    assert faces
    for face in faces:
        assert any(squash(face).startswith(family) for family in families), f"{face} is not vendored"


def test_each_part_starts_on_an_odd_page(book):
    model, pdf = book
    for part_id, index in _opener_pages(model, pdf).items():
        assert (index + 1) % 2 == 1, f"{part_id} starts on page {index + 1}"


def test_contents_page_numbers_are_where_parts_begin(book):
    model, pdf = book
    contents = pdf_pages(pdf)[_contents_page(pdf)]
    openers = _opener_pages(model, pdf)
    for part in model.parts:
        # the contents line: the title, perhaps the author, then the folio
        flat = " ".join(contents.split())
        match = re.search(re.escape(part.title) + r"\s+(\d+)", flat)
        assert match, f"{part.title!r} has no page number in the contents: {flat!r}"
        assert int(match.group(1)) == openers[part.id] + 1


def test_running_heads_name_author_and_title(book):
    model, pdf = book
    pages = pdf_pages(pdf)
    openers = _opener_pages(model, pdf)
    ends = sorted(openers.values()) + [len(pages)]
    checked = 0
    for part in model.texts:
        first = openers[part.id]
        last = ends[ends.index(first) + 1] - 1
        for index in range(first + 1, last + 1):
            text = pages[index].strip()
            if not text:
                continue  # a blank page before the next opener
            folio = str(index + 1)
            head = squash(text[:200] + text[-200:])  # margin boxes come first or last
            if (index + 1) % 2 == 0:
                assert squash(display_author(part)) in head, f"page {folio}: no author in the running head"
            else:
                assert squash(part.title)[:30] in head, f"page {folio}: no title in the running head"
            assert folio in text.split(), f"page {folio}: no folio"
            checked += 1
    assert checked >= 4


def test_openers_and_blank_pages_have_no_folio(book):
    model, pdf = book
    pages = pdf_pages(pdf)
    for part_id, index in _opener_pages(model, pdf).items():
        words = pages[index].split()
        assert str(index + 1) not in words[:3] + words[-2:], f"opener of {part_id} shows a folio"
    blanks = [i for i, t in enumerate(pages) if not t.strip()]
    assert blanks, "a book of right-hand openers has blank pages"


def _variant_book(tmp_path_factory, name: str, edit) -> tuple:
    """A copy of the tiny book with one change, built once (PDF only)."""
    import shutil

    from conftest import FIXTURES

    from anthology.build import build
    dest = tmp_path_factory.mktemp(name) / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", dest)
    edit(dest)
    return dest, build(dest / "manifest.yaml", only=("pdf",)).outputs["pdf"]


@pytest.fixture(scope="module")
def screen_book(tmp_path_factory):
    def to_screen(dest):
        manifest = dest / "manifest.yaml"
        manifest.write_text(manifest.read_text().replace("    trim: a5", "    trim: a5\n    profile: screen"))
    return _variant_book(tmp_path_factory, "screen", to_screen)


def test_screen_profile_is_tagged_with_language_links_and_bookmarks(screen_book):
    _, pdf = screen_book
    reader = PdfReader(str(pdf))
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    assert str(root["/Lang"]) == "en"
    assert reader.outline
    links = [a.get_object() for page in reader.pages for a in page.get("/Annots", [])
             if a.get_object().get("/Subtype") == "/Link"]
    assert links, "the contents links to the parts"
    assert "/OutputIntents" not in root


def test_trim_size_from_the_manifest(tiny_book, screen_book):
    _, out = tiny_book
    box = PdfReader(str(out["pdf"])).pages[0].trimbox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (148, 210)


def test_bleed_adds_an_eighth_of_an_inch_and_crop_marks(tmp_path_factory):
    def with_bleed(dest):
        manifest = dest / "manifest.yaml"
        manifest.write_text(manifest.read_text().replace("    trim: a5", "    trim: 6x9in\n    bleed: true"))
    _, pdf = _variant_book(tmp_path_factory, "bleed", with_bleed)
    page = PdfReader(str(pdf)).pages[5]
    trim, bleed, media = page.trimbox, page.bleedbox, page.mediabox
    assert (float(trim.width), float(trim.height)) == (432, 648)
    assert float(bleed.width) == pytest.approx(432 + 18) and float(bleed.height) == pytest.approx(648 + 18)
    assert float(media.width) >= float(bleed.width)


def test_a_glyph_missing_from_the_vendored_faces_fails_the_build(tmp_path):
    import shutil

    from conftest import FIXTURES

    from anthology.build import build
    from anthology.messages import AnthologyError
    dest = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", dest)
    text = dest / "texts" / "two.md"
    text.write_text(text.read_text() + "\nA word in another script: 労働者.\n")
    line = len(text.read_text().splitlines())
    with pytest.raises(AnthologyError) as exc:
        build(dest / "manifest.yaml", only=("pdf",))
    first = exc.value.diagnostics[0]
    assert (first.code, first.file, first.line, first.col) == ("T006", "texts/two.md", line, 27)
    assert "U+52B4" in first.message
    assert not (dest / "build" / "tiny.pdf").exists()


def test_a_typewriter_hyphen_between_spaces_prints_as_a_dash(book):
    _, pdf = book
    text = " ".join(" ".join(pdf_pages(pdf)).split())
    assert "antedated – and by a considerable period – “May" in text
    assert "antedated - and" not in text


def test_a_note_too_long_to_share_a_page_with_its_call_is_reported(tmp_path, caplog):
    import shutil

    from conftest import FIXTURES

    from anthology.build import build
    dest = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", dest)
    text = dest / "texts" / "two.md"
    source = text.read_text()
    long_note = " ".join(["A sentence of a note far too long for any page of the book."] * 90)
    text.write_text(source.replace("[^2]:", "[^2]: " + long_note, 1))
    call = next(n for n, line in enumerate(source.splitlines(), 1) if "markerb2[^2]" in line)
    with caplog.at_level("WARNING"):
        outputs = build(dest / "manifest.yaml", only=("pdf",)).outputs
    late = [r.getMessage() for r in caplog.records if " P002: " in r.getMessage()]
    assert len(late) == 1 and late[0].startswith(f"texts/two.md:{call}:")
    assert "note 2 of two" in late[0]
    pages = pdf_pages(str(outputs["pdf"]))
    call_page = next(i for i, page in enumerate(pages) if "markerb2" in page)
    assert "far too long" not in pages[call_page] and "far too long" in pages[call_page + 1]


def test_preflight_finds_what_a_print_shop_would_refuse(tiny_book, tmp_path):
    """A PDF spoiled after the fact: RGB paint, transparency, a page without its TrimBox, a
    palette over RGB, no output intent. Preflight names each problem and its page."""
    import pikepdf

    _, out = tiny_book
    spoiled = tmp_path / "spoiled.pdf"
    with pikepdf.open(out["pdf"]) as pdf:
        pdf.pages[0].contents_add(pikepdf.Stream(pdf, b"1 0 0 rg 0 0 10 10 re f"))
        own = pikepdf.Dictionary({key: value for key, value in pdf.pages[1].obj.Resources.items()})
        own.ExtGState = pikepdf.Dictionary(Faded=pikepdf.Dictionary(ca=0.5))
        pdf.pages[1].obj.Resources = own
        del pdf.pages[2].obj["/TrimBox"]
        indexed = pikepdf.Dictionary({key: value for key, value in pdf.pages[3].obj.Resources.items()})
        indexed.ColorSpace = pikepdf.Dictionary(
            Palette=pikepdf.Array([pikepdf.Name.Indexed, pikepdf.Name.DeviceRGB, 1, pikepdf.String(b"\0" * 6)]))
        pdf.pages[3].obj.Resources = indexed
        del pdf.Root["/OutputIntents"]
        pdf.save(spoiled)
    problems = preflight.inspect(spoiled, {"pdf": {"profile": "press", "bleed": False}}).problems
    assert "page 1: paints in DeviceRGB" in problems
    assert "page 2: uses transparency" in problems
    assert "page 3: no TrimBox" in problems
    assert "page 4: uses an RGB colour space" in problems, "an RGB palette is RGB too"
    assert "no PDF/X output intent with a destination profile" in problems
    assert len(problems) == 5, problems
    assert preflight.inspect(out["pdf"], {"pdf": {"profile": "press", "bleed": False}}).problems == []


def _index_page_links(pdf: str) -> tuple[int, int]:
    """(link annotations on the index's pages, links elsewhere) of a PDF."""
    reader = PdfReader(pdf)
    texts = pdf_pages(pdf)
    first = max(i for i, text in enumerate(texts) if text.lstrip().startswith("Index"))
    counts = [len([a for a in page.get("/Annots", []) if a.get_object().get("/Subtype") == "/Link"])
              for page in reader.pages]
    return sum(counts[first:]), sum(counts[:first])


def test_the_index_links_its_page_numbers_on_screen_not_in_the_press_pdf(tiny_book, screen_book):
    """A print shop's PDF prints the index's page numbers as text; the screen PDF links each."""
    _, press = tiny_book
    _, screen = screen_book
    press_index, press_elsewhere = _index_page_links(str(press["pdf"]))
    screen_index, _ = _index_page_links(str(screen))
    assert press_index == 0 and press_elsewhere > 0, "the contents and cross-references still link"
    assert screen_index > 0
    assert re.search(r"\d", pdf_pages(str(press["pdf"]))[-1]), "the press index prints its page numbers"
