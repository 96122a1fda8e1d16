"""The build cache: one edit, one conversion; damaged entries made again; the same bytes as without it."""
from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import FIXTURES
from helpers import chunks_laid_out, log_records

from anthology.build import build
from anthology.cache import FOLDER
from anthology.cli import main


def cache_log():
    """The cache's records while the block runs: (event, kind, label), and its warnings."""
    return log_records("anthology.cache")


def converted(records) -> set[tuple[str, str]]:
    return {(r.cache_label, r.cache_kind) for r in records if getattr(r, "cache_event", None) == "converted"}


def from_cache(records) -> set[tuple[str, str]]:
    return {(r.cache_label, r.cache_kind) for r in records if getattr(r, "cache_event", None) == "cached"}


ALL_CONVERSIONS = {("notes/intro.md", "ast"), ("notes/headnote-one.md", "ast"), ("texts/one.md", "ast"),
                   ("texts/two.md", "ast"), ("bibliography.yaml", "bib"), ("notes/intro.md", "html"),
                   ("notes/headnote-one.md", "html"), ("texts/one.md", "html"), ("texts/two.md", "html")}


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """A copy of the tiny book, built once with a cold cache: (manifest, records of that build)."""
    root = tmp_path_factory.mktemp("cache") / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    with cache_log() as records:
        build(root / "manifest.yaml")
    return root / "manifest.yaml", records


def outputs(manifest: Path, out: Path | None = None) -> dict[str, bytes]:
    folder = out or manifest.parent / "build"
    return {kind: (folder / f"tiny.{kind}").read_bytes() for kind in ("pdf", "epub")}


def test_first_build_converts_everything_and_fills_the_cache(book):
    manifest, records = book
    assert converted(records) == ALL_CONVERSIONS
    assert not from_cache(records)
    cache = manifest.parent / "build" / FOLDER
    assert len(list((cache / "ast").glob("*.entry"))) == 4
    assert len(list((cache / "html").glob("*.entry"))) == 4
    assert len(list((cache / "part").glob("*.entry"))) == 3, "each text's finished HTML"
    assert list((cache / "pdf").glob("*.entry")), "the PDF of this layout is kept"


def epub_pages(records) -> dict[str, set[str]]:
    """The parts whose EPUB page was made in the build, and those whose page was kept (epub_kept.py)."""
    pages: dict[str, set[str]] = {"made": set(), "kept": set()}
    for record in records:
        if getattr(record, "epub_page", None):
            pages[record.epub_page].add(record.part_id)
    return pages


def test_editing_one_text_converts_only_that_text(book):
    manifest, _ = book
    text = manifest.parent / "texts" / "two.md"
    text.write_text(text.read_text().replace("Soviet delegate railway", "Soviet delegates railway", 1))
    with cache_log() as records, log_records("anthology.render.epub_kept") as pages:
        result = build(manifest)
    assert converted(records) == {("texts/two.md", "ast"), ("texts/two.md", "html")}
    # its EPUB page is made again, with the pages made from the whole book; the others are kept
    assert epub_pages(pages) == {"made": {"two", "bibliography", "sources", "index"}, "kept": {"intro", "one"}}
    # the other texts skip pandoc and the transforms: their finished HTML is kept
    assert from_cache(records) == {("notes/intro.md", "part"), ("texts/one.md", "part"), ("bibliography.yaml", "bib")}
    assert sorted(result.converted) == ["texts/two.md (ast)", "texts/two.md (html)"]
    # and the outputs are exactly those of a build without the cache
    with cache_log() as records:
        build(manifest, manifest.parent / "nocache", use_cache=False)
    assert converted(records) == ALL_CONVERSIONS
    assert not (manifest.parent / "nocache" / FOLDER).exists(), "--no-cache writes nothing into the cache"
    assert outputs(manifest) == outputs(manifest, manifest.parent / "nocache")


def test_a_new_index_occurrence_does_not_reconvert_the_later_texts(book):
    """Index anchors are numbered within each part, so the later texts' keys stay the same."""
    manifest, _ = book
    text = manifest.parent / "texts" / "one.md"
    text.write_text(text.read_text().replace("\nVote soviet ", "\nVote soviet railway soviet ", 1))
    with cache_log() as records:
        build(manifest)
    assert converted(records) == {("texts/one.md", "ast"), ("texts/one.md", "html")}
    with cache_log():
        build(manifest, manifest.parent / "nocache", use_cache=False)
    assert outputs(manifest) == outputs(manifest, manifest.parent / "nocache"), \
        "the cached build equals a build without the cache"


def test_an_unchanged_book_comes_from_the_cache(book):
    manifest, _ = book
    before = outputs(manifest)
    with cache_log() as records:
        result = build(manifest)
    assert not converted(records)
    assert ("the print layout", "pdf") in from_cache(records), "the same layout is not laid out again"
    assert "writing the PDF" in dict(result.stages)
    assert outputs(manifest) == before


def _damage(cache: Path) -> dict[str, Path]:
    """One entry of each kind damaged a different way."""
    ast = sorted((cache / "ast").glob("*.entry"))[0]
    ast.write_bytes(ast.read_bytes()[: ast.stat().st_size // 2])               # truncated
    html = sorted((cache / "html").glob("*.entry"))[0]
    html.write_bytes(b"{not json\n" + html.read_bytes().partition(b"\n")[2])    # a bad header
    bib = next((cache / "bib").glob("*.entry"))
    data = bytearray(bib.read_bytes())
    data[-2] ^= 0x20                                                           # one bit flipped: wrong hash
    bib.write_bytes(bytes(data))
    pdf = max((cache / "pdf").glob("*.entry"), key=lambda p: p.stat().st_mtime)  # the last build's
    pdf.write_bytes(pdf.read_bytes()[:-100] + b"x" * 100)                      # the same size, other bytes
    part, *others = sorted((cache / "part").glob("*.entry"))
    part.write_bytes(part.read_bytes()[:-1])                                   # one byte short
    for other in others:  # so that every text's conversions are read
        other.unlink()
    return {"ast": ast, "html": html, "bib": bib, "pdf": pdf, "part": part}


def test_damaged_entries_are_made_again_never_trusted(book):
    manifest, _ = book
    good = outputs(manifest)
    damaged = _damage(manifest.parent / "build" / FOLDER)
    with cache_log() as records:
        build(manifest)
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 5, warnings
    assert all("is damaged" in w for w in warnings)
    assert any("checksum does not match" in w for w in warnings)
    kinds = {kind for _, kind in converted(records)}
    assert {"ast", "html", "bib"} <= kinds, "each damaged conversion is made again"
    assert ("the print layout", "pdf") not in from_cache(records), "a damaged PDF is laid out again"
    assert outputs(manifest) == good
    for kind, path in damaged.items():
        assert path.exists(), f"the {kind} entry is written again"
    with cache_log() as records:
        build(manifest)
    assert not converted(records) and not [r for r in records if r.levelno >= logging.WARNING]


def test_a_damaged_chunk_is_laid_out_again(book):
    manifest, _ = book
    good = outputs(manifest)
    cache = manifest.parent / "build" / FOLDER
    since = time.time()
    build(manifest)  # nothing changed: the entries it uses are touched, the earlier layouts kept are not
    used = [p for p in (cache / "chunk-pdf").glob("*.entry") if p.stat().st_mtime >= since]
    for entry in (cache / "pdf").glob("*.entry"):
        entry.unlink()  # so that the PDF is merged again from its chunks
    chunk = max(used, key=lambda p: p.stat().st_size)
    chunk.write_bytes(chunk.read_bytes()[:-100] + b"x" * 100)
    with cache_log() as records, log_records("anthology.render.pdf") as layout:
        build(manifest)
    assert [r.getMessage() for r in records if r.levelno == logging.WARNING and "is damaged" in r.getMessage()]
    assert len(chunks_laid_out(layout)) == 1
    assert outputs(manifest) == good


def test_no_cache_on_the_command_line(book, capsys):
    manifest, _ = book
    with cache_log() as records:
        assert main(["-q", "build", "--no-cache", str(manifest), "--only", "epub"]) == 0
    assert converted(records) == ALL_CONVERSIONS
    assert "epub: " in capsys.readouterr().out


def test_index_anchors_are_numbered_within_their_part():
    """An index occurrence added to one text leaves every other text's anchor ids, and so its cache keys, alone."""
    from anthology.manifest import load_manifest
    from anthology.model import load_book
    from anthology.transforms.index import mark_index_terms

    book = load_book(load_manifest(FIXTURES / "books" / "tiny" / "manifest.yaml"))
    from anthology import pandoc
    pandoc.book_to_ast(book)
    mark_index_terms(book)
    ids = {part.id: list(part.index_anchors) for part in book.parts}
    assert any(ids.values()), "the tiny book marks index terms"
    for part_id, anchors in ids.items():
        assert anchors == [f"ix-{part_id}-{n}" for n in range(1, len(anchors) + 1)]



def test_a_reused_text_keeps_its_pandoc_warnings(tmp_path):
    """A text whose finished HTML comes from the cache still gets pandoc's warnings about it."""
    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    text = root / "texts" / "two.md"
    text.write_text(text.read_text() + "\n[^1]: A second definition of the first note.\n")

    def pandoc_warnings():
        with log_records("anthology.pandoc") as records, cache_log() as cached:
            build(root / "manifest.yaml", only=("epub",))
        return [r.getMessage() for r in records if r.levelno == logging.WARNING], from_cache(cached)

    first, _ = pandoc_warnings()
    again, reused = pandoc_warnings()
    assert any("texts/two.md" in w and "Duplicate note reference" in w for w in first), first
    assert ("texts/two.md", "part") in reused
    assert again == first


def test_pandoc_warnings_are_kept_even_from_a_quiet_build(tmp_path, capsys):
    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    text = root / "texts" / "two.md"
    text.write_text(text.read_text() + "\n[^1]: A second definition of the first note.\n")
    assert main(["-q", "build", str(root / "manifest.yaml"), "--only", "epub"]) == 0
    assert "Duplicate note reference" not in capsys.readouterr().err, "-q shows only errors"
    with log_records("anthology.pandoc") as records:
        build(root / "manifest.yaml", only=("epub",))
    said = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert any("texts/two.md" in w and "Duplicate note reference" in w for w in said), said


def test_a_reused_text_linking_to_an_id_gone_is_refused(book):
    """A reused part's links are checked against the book's ids on every build (X001)."""
    from anthology import transforms
    from anthology.cache import BuildCache
    from anthology.manifest import load_manifest
    from anthology.messages import AnthologyError
    from anthology.model import load_book
    from anthology.part_cache import reuse

    manifest, _ = book
    tiny = load_book(load_manifest(manifest))
    reuse(BuildCache(manifest.parent / "build" / FOLDER), tiny)
    one = next(part for part in tiny.parts if part.id == "one")
    assert one.reused and one.ast is None, "the cache's HTML, without pandoc"
    transforms.apply(tiny)  # every link of the reused parts has its target
    one.html += '<p><a href="#two--section-gone" class="xref">gone</a></p>'
    with pytest.raises(AnthologyError) as refused:
        transforms.apply(tiny)
    assert [d.code for d in refused.value.diagnostics] == ["X001"]
    assert "two--section-gone" in refused.value.diagnostics[0].message


def test_a_kept_epub_page_says_again_what_it_warned_about(tmp_path):
    """Unsafe markup and an image that cannot go into the EPUB, warned about when the page is made
    and again when it is kept (the stages of `build` without the sanitiser, which would remove
    the markup first, and without the check, which would refuse the image)."""
    from anthology import pandoc, transforms
    from anthology.cache import BuildCache
    from anthology.manifest import load_manifest
    from anthology.model import load_book
    from anthology.render import blocks
    from anthology.render.epub import package_epub

    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    text = root / "texts" / "one.md"
    text.write_text(text.read_text() + '\nA [click]{onclick="alert(1)"} and ![a figure](images/missing.png).\n')
    book = load_book(load_manifest(root / "manifest.yaml"))
    pandoc.book_to_ast(book)
    transforms.apply(book)
    pandoc.book_to_html(book)
    blocks.number_book(book)
    made = []
    for quiet in (False, True):  # `-q` sets the top logger to errors: the page keeps its warnings all the same
        cache = BuildCache(tmp_path / f"cache-{quiet}")
        for attempt in ("made", "kept"):
            top = logging.getLogger("anthology")
            level = top.level
            with log_records("anthology") as records:
                if quiet and attempt == "made":
                    top.setLevel(logging.ERROR)
                made.append(package_epub(book, cache))
            top.setLevel(level)
            if quiet and attempt == "made":
                continue
            assert "one" in epub_pages(records)[attempt], attempt
            said = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
            assert [m for m in said if "E005" in m and "texts/one.md" in m and "event handler" in m], attempt
            assert [m for m in said if "E006" in m and "images/missing.png" in m], attempt
    assert len(set(made)) == 1


def test_an_image_replaced_under_the_same_name_is_never_served_stale(tmp_path):
    """The image's name has a space (`%20` in the HTML): the cache keys hash the file it names."""
    from PIL import Image

    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    (root / "images").mkdir()
    picture = root / "images" / "my picture.png"
    Image.new("RGB", (900, 600), "#884422").save(picture, dpi=(300, 300))
    text = root / "texts" / "one.md"
    text.write_text(text.read_text() + "\n![A brown field](images/my%20picture.png)\n")
    manifest = root / "manifest.yaml"
    build(manifest)
    Image.new("RGB", (900, 600), "#224488").save(picture, dpi=(300, 300))
    with log_records("anthology.render.epub_kept") as pages:
        build(manifest)
    assert "one" in epub_pages(pages)["made"]
    build(manifest, root / "nocache", use_cache=False)
    assert outputs(manifest) == outputs(manifest, root / "nocache")


def test_a_build_of_one_output_keeps_the_cache_of_the_other(tmp_path):
    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    manifest = root / "manifest.yaml"
    build(manifest)
    build(manifest, only=("pdf",))  # never looks at the EPUB's pages: they stay
    with log_records("anthology.render.epub_kept") as pages:
        build(manifest, only=("epub",))
    assert epub_pages(pages) == {"made": {"bibliography", "sources", "index"}, "kept": {"intro", "one", "two"}}


def test_an_epub_alone_lays_its_chunks_out_without_their_pdfs(tmp_path):
    """With no PDF to merge, a chunk's PDF is not written: its layout is kept alone, and the next
    build of the PDF lays that chunk out again, to the same PDF as a build without the cache."""
    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    manifest, cache = root / "manifest.yaml", root / "build" / FOLDER
    build(manifest)
    pdfs = set((cache / "chunk-pdf").glob("*.entry"))
    layouts = set((cache / "chunk").glob("*.entry"))
    text = root / "texts" / "two.md"
    text.write_text(text.read_text().replace("markerb1", "markerb1 (edited)", 1))

    with log_records("anthology.render.pdf") as layout:
        build(manifest, only=("epub",))
    assert chunks_laid_out(layout) == ["two"]
    assert set((cache / "chunk-pdf").glob("*.entry")) == pdfs, "no chunk's PDF written, none let go"
    assert len(set((cache / "chunk").glob("*.entry")) - layouts) == 1, "the new layout is kept"

    with log_records("anthology.render.pdf") as layout:
        build(manifest)
    assert chunks_laid_out(layout) == ["two"], "laid out again, for its PDF"
    build(manifest, root / "nocache", use_cache=False)
    assert outputs(manifest) == outputs(manifest, root / "nocache")


def test_a_stored_entry_is_read_where_it_is_wanted_and_checked_there(tmp_path):
    """A chunk's PDF is not held by the build's process: the merge reads it from the cache, and a
    payload that changed meanwhile is refused, not merged."""
    from anthology.cache import BuildCache

    cache = BuildCache(tmp_path / ".cache")
    assert cache.write("chunk-pdf", "k1", b"%PDF-1.7 one")
    stored = cache.stored("chunk-pdf", "k1")
    assert stored.read() == b"%PDF-1.7 one"
    path = cache._path("chunk-pdf", "k1")
    path.write_bytes(path.read_bytes().replace(b"one", b"two"))
    with pytest.raises(OSError, match="changed during the build"):
        stored.read()
    assert not BuildCache(None).write("chunk-pdf", "k1", b"x"), "nothing is stored without a cache"


def test_pandocs_at_once_limits_the_conversions_running_together(tmp_path):
    import threading

    from anthology.cache import BuildCache

    together = min(4, os.cpu_count() or 1)
    running, most = [0], [0]
    changed = threading.Condition()

    def convert(n, wait_for):
        with changed:
            running[0] += 1
            most[0] = max(most[0], running[0])
            changed.notify_all()
            changed.wait_for(lambda: most[0] >= wait_for, timeout=5)  # until so many have run at once
            running[0] -= 1
        return f"value {n}"

    def jobs(kind, wait_for):
        return [(kind, f"text {n}", f"{kind}-{n}", lambda n=n: convert(n, wait_for)) for n in range(4)]

    cache = BuildCache(tmp_path / "cache")
    assert cache._convert_all(jobs("ast", together)) == [f"value {n}" for n in range(4)]
    assert most[0] == together  # a conversion on each of the machine's cores
    most[0] = 0
    cache.pandocs_at_once = 1  # as a large book's texts are made (making.PANDOCS_PACKED)
    assert cache._convert_all(jobs("html", 1)) == [f"value {n}" for n in range(4)]
    assert most[0] == 1
