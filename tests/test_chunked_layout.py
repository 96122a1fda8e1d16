"""The print edition laid out in chunks on every core equals one WeasyPrint pass over the whole
book: the same text on every page, folios and running heads included, the same contents numbers,
cross-references, index locators, bookmarks and links, and the same page starts for the EPUB.
An edit to one text lays out that text's chunk alone; the workers are reused.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT
from helpers import chunks_laid_out, log_records, pdf_pages
from pypdf import PdfReader

from anthology import pandoc, transforms
from anthology.build import build
from anthology.manifest import load_manifest
from anthology.model import load_book
from anthology.render import blocks, workers
from anthology.render.chunks import FOLIO_BLOCK
from anthology.render.pdf import write_single_pass
from anthology.sanitize import sanitize_book


def single_pass(manifest: Path, target: Path):
    """The book laid out in one WeasyPrint pass, as `build` made it before chunks: (book, pdf)."""
    book = load_book(load_manifest(manifest))
    pandoc.book_to_ast(book)
    transforms.apply(book)
    pandoc.book_to_html(book)
    sanitize_book(book)
    blocks.number_book(book)
    write_single_pass(book, target)
    return book, target


def chunked(manifest: Path, out: Path):
    """The same book through `build` (chunks, workers, merge), with the book it laid out."""
    from anthology import build as build_module

    kept = {}
    real = build_module.lay_out

    def keep(book, cache, only):
        kept["book"] = book
        return real(book, cache, only)

    build_module.lay_out = keep
    try:
        outputs = build(manifest, out, use_cache=False).outputs
    finally:
        build_module.lay_out = real
    return kept["book"], outputs["pdf"]


def outline(reader: PdfReader) -> list:
    def walk(items, depth):
        out = []
        for item in items:
            if isinstance(item, list):
                out += walk(item, depth + 1)
            else:
                out.append((depth, item.title, reader.get_destination_page_number(item),
                            round(float(item.top or 0))))
        return out
    return walk(reader.outline, 0)


def links(reader: PdfReader) -> list:
    """(page, rectangle, target, target's page and height) of every link, in page order."""
    dests = reader.named_destinations
    found = []
    for number, page in enumerate(reader.pages):
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            if annot.get("/Subtype") != "/Link":
                continue
            rect = [round(float(v)) for v in annot["/Rect"]]
            if "/Dest" in annot:
                dest = dests[str(annot["/Dest"])]
                found.append((number, rect, str(annot["/Dest"]), reader.get_destination_page_number(dest),
                              round(float(dest.top or 0))))
            else:
                found.append((number, rect, str(annot["/A"]["/URI"]), None, None))
    return found


@pytest.fixture(scope="module", params=["tiny", "default"])
def both(request, tmp_path_factory):
    manifest = FIXTURES / "books" / "tiny" / "manifest.yaml" if request.param == "tiny" else ROOT / "manifest.yaml"
    folder = tmp_path_factory.mktemp(f"chunked-{request.param}")
    one = single_pass(manifest, folder / "single.pdf")
    return one, chunked(manifest, folder / "out")


def test_every_page_reads_as_in_one_pass(both):
    """The same words on every page, folios, running heads, contents and cross-references included
    (the stamped folio is read after the page's other text, so the order is not compared)."""
    (_, single), (_, merged) = both
    one, many = pdf_pages(str(single)), pdf_pages(str(merged))
    assert len(many) == len(one)
    for number, (expected, got) in enumerate(zip(one, many), 1):
        assert sorted(got.split()) == sorted(expected.split()), f"page {number} differs"
    assert any(str(n) in page.split() for n, page in enumerate(many, 1) if n > 10), "the folios are there"


def test_every_page_looks_as_in_one_pass(both):
    import pypdfium2 as pdfium
    from PIL import ImageChops

    (_, single), (_, merged) = both
    one, many = pdfium.PdfDocument(str(single)), pdfium.PdfDocument(str(merged))
    assert len(one) == len(many)
    for number in range(len(one)):
        expected = one[number].render(scale=1).to_pil().convert("L")
        got = many[number].render(scale=1).to_pil().convert("L")
        assert ImageChops.difference(expected, got).getbbox() is None, f"page {number + 1} looks different"


def test_bookmarks_links_and_destinations_are_those_of_one_pass(both):
    (_, single), (_, merged) = both
    one, many = PdfReader(str(single)), PdfReader(str(merged))
    assert outline(many) == outline(one)
    assert len(outline(one)) >= 4
    expected = links(one)
    assert links(many) == expected
    assert sum(1 for link in expected if link[3] is not None) >= 5, "the book has internal links to compare"


def test_page_starts_and_index_pages_are_those_of_one_pass(both):
    (one, _), (many, _) = both
    assert many.page_starts == one.page_starts
    assert many.index_pages == one.index_pages and many.index_pages


def test_blank_left_hand_pages_stay_blank(both):
    (_, _), (book, merged) = both
    blanks = [s.page for s in book.page_starts if s.section is None]
    texts = pdf_pages(str(merged))
    assert all(not texts[page - 1].strip() for page in blanks)
    assert any(page % 2 == 0 for page in blanks), "the book has a blank verso between parts"


def build_logging(manifest: Path) -> list:
    with log_records("anthology.render.pdf") as records:
        build(manifest)
    return records


def test_an_edit_to_one_text_lays_out_that_text_alone(tmp_path):
    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    manifest = root / "manifest.yaml"
    first = chunks_laid_out(build_logging(manifest))
    assert {"the prelims", "one", "two", "index"} <= set(first)
    assert chunks_laid_out(build_logging(manifest)) == [], "nothing changed, nothing is laid out"
    text = root / "texts" / "two.md"
    text.write_text(text.read_text().replace("markerb2", "markerq2", 1))  # the same pages: no number moves
    assert chunks_laid_out(build_logging(manifest), folios=True) == ["two"]
    assert any("markerq2" in page for page in pdf_pages(str(root / "build" / "tiny.pdf")))


def test_a_first_build_writes_no_pdf_for_a_chunk_printing_stand_in_numbers(tmp_path, monkeypatch):
    """Believing no numbers yet, the first round prints stand-ins (page 0) where a chunk prints
    pages of other chunks: such a chunk is laid out again, so its first PDF is not written, nor
    its first layout kept; every other chunk's is, and the second round uses them."""
    from anthology.cache import BuildCache

    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    sent, real = [], workers.run

    def recorded(jobs):
        sent.extend(jobs)
        yield from real(jobs)

    monkeypatch.setattr(workers, "run", recorded)
    build(root / "manifest.yaml")
    stand_ins = [job for job in sent if 'data-page="0"' in job["html"]]
    assert {job["chunk"] for job in stand_ins} >= {"the prelims"}
    assert all(job["write_pdf"] is False for job in stand_ins)
    others = [job for job in sent if not job.get("placeholder")]
    assert others and all(job["write_pdf"] for job in others)
    names = [job["chunk"] for job in sent]
    assert all(names.count(job["chunk"]) >= 2 for job in stand_ins), "laid out again, with a PDF"
    cache = BuildCache(root / "build" / ".cache")
    assert all(cache.read_json("chunk", job["key"]) is None for job in stand_ins), "not kept"


def _recorded_rounds(monkeypatch) -> list[list[tuple[dict, dict]]]:
    """Each round's jobs and their results, as the workers give them."""
    rounds, real = [], workers.run

    def recorded(jobs):
        if jobs:
            rounds.append([])
        for job, result in real(jobs):
            rounds[-1].append((job, result))
            yield job, result

    monkeypatch.setattr(workers, "run", recorded)
    return rounds


def _text_parts() -> set[str]:
    return {part.id for part in load_book(load_manifest(ROOT / "manifest.yaml")).parts} - {"index"}


@pytest.fixture(scope="module")
def default_first_build(tmp_path_factory):
    """The default book's first build, its rounds recorded: (rounds, output folder)."""
    monkeypatch = pytest.MonkeyPatch()
    rounds = _recorded_rounds(monkeypatch)
    out = tmp_path_factory.mktemp("first") / "out"
    try:
        build(ROOT / "manifest.yaml", out)  # a first build: its own cache
    finally:
        monkeypatch.undo()
    return rounds, out


def test_a_first_build_draws_the_real_page_numbers_in_their_stand_ins_place(default_first_build):
    """A chunk that printed stand-ins for other chunks' pages is not laid out again: the worker
    that laid it out draws the real numbers in their place. So no part is laid out twice, and
    the index, which prints every chunk's pages, is laid out once more, beside them."""
    rounds, _ = default_first_build
    assert len(rounds) == 2, [[job["chunk"] for job, _ in jobs] for jobs in rounds]
    first = {job["chunk"]: result for job, result in rounds[0]}
    numbered = {job["chunk"]: (job, result) for job, result in rounds[1] if result.get("stamped")}
    assert {"castoriadis-1964", "pallis-1975", "introduction", "the prelims"} <= numbered.keys()
    for name, (job, result) in numbered.items():
        assert first[name]["held"] and job["worker"] == result["worker"] == first[name]["worker"]
    again = {job["chunk"] for job, result in rounds[1] if not result.get("stamped")}
    assert "index" in again and not again & _text_parts(), "no part laid out twice"


def test_a_chunk_numbered_in_place_is_byte_for_byte_the_chunk_laid_out_with_its_numbers(default_first_build):
    from anthology.cache import BuildCache

    rounds, out = default_first_build
    cache = BuildCache(out / ".cache")
    numbered = [job["key"] for job, result in rounds[1] if result.get("stamped")]
    assert numbered
    pdfs = {key: cache.read("chunk-pdf", key) for key in numbered}
    for key in numbered:  # laid out anew, with the numbers the last build settled on
        cache._path("chunk", key).unlink()
    laid_out = [job for job, _ in _layouts_of_a_build(out)]
    assert {job["key"] for job in laid_out} == set(numbered) and not any(job.get("stamp") for job in laid_out)
    assert all(_without_document_id(cache.read("chunk-pdf", key)) == _without_document_id(pdfs[key])
               for key in numbered)


def _without_document_id(pdf: bytes) -> bytes:
    """WeasyPrint gives each PDF/X a random XMP document id (the merge sets the book's own)."""
    return re.sub(rb"xmp\.did:[0-9a-f-]{36}", b"xmp.did:", pdf)


def _layouts_of_a_build(out: Path) -> list[tuple[dict, dict]]:
    monkeypatch = pytest.MonkeyPatch()
    rounds = _recorded_rounds(monkeypatch)
    try:
        build(ROOT / "manifest.yaml", out)
    finally:
        monkeypatch.undo()
    return [pair for jobs in rounds for pair in jobs]


def test_a_stand_in_of_the_wrong_width_has_its_chunk_laid_out_again(default_first_build, tmp_path, monkeypatch):
    """Stand-ins of one digit where the pages have two: the real numbers are wider, so the chunks
    are laid out again with them, the index once more after them, and the book is the same."""
    from anthology.render import chunks

    monkeypatch.setattr(chunks, "stand_ins", lambda _: {})  # every page's stand-in a single 0
    rounds = _recorded_rounds(monkeypatch)
    build(ROOT / "manifest.yaml", tmp_path / "out")
    tried = {job["chunk"] for job, result in rounds[1] if job.get("stamp") and not result.get("stamped")}
    assert "castoriadis-1964" in tried, "it printed a page of Pallis, which has two digits"
    assert len(rounds) == 3 and [job["chunk"] for job, _ in rounds[2]] == ["index"]
    _, out = default_first_build
    name = "workers-control-and-the-russian-revolution.pdf"
    assert pdf_pages(str(tmp_path / "out" / name)) == pdf_pages(str(out / name))


def test_a_text_that_grows_moves_the_later_folios_not_the_later_chunks(tmp_path):
    """Pages more in one text: the chunks after it keep their layout, and so do the folios, laid out
    in blocks of 32 pages whatever the book's length; the contents and the index, whose numbers
    moved, are laid out again."""
    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    manifest = root / "manifest.yaml"
    build_logging(manifest)
    pages_before = len(PdfReader(root / "build" / "tiny.pdf").pages)
    text = root / "texts" / "one.md"
    text.write_text(text.read_text() + "\n\n" + "\n\n".join(["A paragraph added to make the text longer. " * 12] * 8))
    again = build_logging(manifest)
    assert len(PdfReader(root / "build" / "tiny.pdf").pages) > pages_before
    chunks = chunks_laid_out(again)
    assert "one" in chunks and not {"two", "bibliography", "sources"} & set(chunks), chunks
    assert len(PdfReader(root / "build" / "tiny.pdf").pages) <= FOLIO_BLOCK
    assert not [n for n in chunks_laid_out(again, folios=True) if n.startswith("the folios")]


def test_a_longer_book_lays_out_only_its_new_blocks_of_folios(tmp_path):
    """A book grown past a block of folios lays out the next block, not the ones it had."""
    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    manifest = root / "manifest.yaml"
    first = build_logging(manifest)
    assert [n for n in chunks_laid_out(first, folios=True) if n.startswith("the folios")] == ["the folios 1"]
    text = root / "texts" / "two.md"
    text.write_text(text.read_text() + "\n\n" + "\n\n".join(["A paragraph added to make the book longer. " * 30] * 40))
    again = build_logging(manifest)
    pages = pdf_pages(str(root / "build" / "tiny.pdf"))
    assert FOLIO_BLOCK < len(pages) <= 2 * FOLIO_BLOCK
    assert [n for n in chunks_laid_out(again, folios=True) if n.startswith("the folios")] == ["the folios 2"]
    last_text_page = max(i for i, page in enumerate(pages) if "make the book longer" in page)
    assert last_text_page >= FOLIO_BLOCK
    assert re.search(rf"\b{last_text_page + 1}\b", pages[last_text_page]), "its folio comes from the second block"


def test_links_to_ids_that_are_not_ascii_lead_somewhere(tmp_path):
    """A link's /Dest must equal its named destination byte for byte (WeasyPrint writes names that
    are not ASCII in UTF-16): a heading "Café société" in one text, a cross-reference from another."""
    import pikepdf

    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    one, intro = root / "texts" / "one.md", root / "notes" / "intro.md"
    one.write_text(one.read_text().replace("## Section a4", "## Café société"))
    intro.write_text(intro.read_text().replace("(#two--section-b4)", "(#one--café-société)"))
    build(root / "manifest.yaml", use_cache=False)
    pdf = pikepdf.open(root / "build" / "tiny.pdf")
    names = {bytes(key) for key in list(pdf.Root.Names.Dests.Names)[::2]}
    targets = [bytes(annot.Dest) for page in pdf.pages for annot in page.get("/Annots", ())
               if annot.get("/Subtype") == "/Link" and "/Dest" in annot]
    assert "one--café-société".encode("utf-16-be") in b"".join(targets), "the cross-reference is a link"
    assert targets and all(target in names for target in targets)
    keys = list(pdf.Root.Names.Dests.Names)[::2]
    assert [bytes(k) for k in keys] == sorted(bytes(k) for k in keys), "the name tree is sorted"
    texts = [page.extract_text() for page in PdfReader(root / "build" / "tiny.pdf").pages]
    heading = next(n for n, text in enumerate(texts, 1) if "Café société" in text and "(p." not in text)
    assert any(f"(p.\xa0{heading})" in text or f"(p. {heading})" in text for text in texts), \
        "the cross-reference prints the heading's page"


def test_the_workers_are_reused_from_build_to_build(tiny_book, tmp_path):
    manifest, _ = tiny_book
    pool = workers.pool()
    before = {p.pid for p in pool.processes()}
    build(manifest, tmp_path / "out", use_cache=False)
    assert workers.pool() is pool
    assert {p.pid for p in pool.processes()} == before and len(before) == workers.worker_count()


def test_a_worker_that_died_is_replaced_by_the_next_build(tiny_book, tmp_path):
    import os
    import signal
    import time

    manifest, _ = tiny_book
    workers.warm_up()
    victim = next(iter(workers.pool().processes()))
    os.kill(victim.pid, signal.SIGKILL)
    time.sleep(0.5)
    outputs = build(manifest, tmp_path / "out", use_cache=False).outputs
    assert outputs["pdf"].exists() and victim.pid not in {p.pid for p in workers.pool().processes()}


def test_large_streams_are_compressed_once_and_as_pydyf_would():
    """The memo of compressed streams gives zlib's own bytes (at level 6 for a large stream, as
    pydyf's level 9 for the others), and gives them again without work."""
    import os
    import zlib

    import pydyf

    from anthology.render import stream_memo

    stream_memo.remember_large_streams()
    stream_memo._made.clear()
    profile = os.urandom(1 << 12) * 100  # large, and compressible
    small = b"BT /F1 11 Tf (a page) Tj ET"
    for data, level in ((profile, stream_memo.LARGE_LEVEL), (small, 9), (b"", 9)):
        expected = zlib.compressobj(level=level)
        expected = expected.compress(data) + expected.flush()
        made = pydyf.zlib.compressobj(level=9)
        assert made.compress(data) + made.flush() == expected
    assert len(stream_memo._made) == 1, "only the large stream is kept"
    [key] = stream_memo._made
    stream_memo._made[key] = b"remembered"
    made = pydyf.zlib.compressobj(level=9)
    assert made.compress(profile) + made.flush() == b"remembered", "a large stream seen before is not compressed again"
    stream_memo._made.clear()


def test_proportional_page_figures_have_the_texts_that_print_them_laid_out_again(tmp_path, monkeypatch):
    """`output.pdf.page-figures: proportional`: a cross-reference's number is not as wide as its
    stand-in, so the text printing it is laid out again with it (the contents keep tabular
    figures and are numbered in place), and its number reads as in the tabular book."""
    def first_build(root: Path, out: Path):
        rounds = _recorded_rounds(monkeypatch)
        build(root / "manifest.yaml", out)
        monkeypatch.undo()
        return rounds

    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    tabular = first_build(root, tmp_path / "tabular")
    manifest = root / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("    trim: a5", "    trim: a5\n    page-figures: proportional"))
    proportional = first_build(root, tmp_path / "proportional")

    def numbered(rounds):
        return {job["chunk"] for job, result in rounds[1] if result.get("stamped")}

    assert {"intro", "the prelims"} <= numbered(tabular)
    assert "intro" not in numbered(proportional) and "the prelims" in numbered(proportional)
    held = {job["chunk"] for job, _ in proportional[0] if job.get("hold")}
    assert "the prelims" in held and "intro" not in held, "no layout kept that cannot be numbered in place"
    assert "intro" in {job["chunk"] for jobs in proportional[1:] for job, _ in jobs}
    intro = [page for page in pdf_pages(str(tmp_path / "proportional" / "tiny.pdf")) if "(p." in page]
    assert intro == [page for page in pdf_pages(str(tmp_path / "tabular" / "tiny.pdf")) if "(p." in page]

