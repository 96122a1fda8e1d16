"""Bad and hostile inputs: each is refused with its code, file, line and column, exit 1, and
the outputs already in build/ stay byte for byte as they were, with no temporary file left.

Every case starts from a copy of the tiny book with the session's good outputs in build/
(tests/test_safety_support.py) and breaks one thing. Most are refused by the manifest or by
`anthology check` before anything is rendered, so the module takes a few seconds.
"""
from __future__ import annotations

import io
import signal
import struct
import time
import zipfile
import zlib
from contextlib import contextmanager

import pytest
from test_safety_support import BAD, Book, build_fails, fifo, good_book, listener  # noqa: F401 (fixtures)

from anthology import limits
from anthology.cli import main
from anthology.manifest import load_manifest
from anthology.model import load_book


@contextmanager
def deadline(seconds: int):
    """Fail (instead of hanging the suite) if the block takes longer than `seconds`."""
    def expired(signum, frame):
        raise AssertionError(f"took longer than {seconds} s: something blocked or decoded what it should not")
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def huge_png(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of width × height white pixels: a few tens of KB."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    squeeze = zlib.compressobj(9)
    idat = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def zip_bytes(members: dict[str, bytes], big: int = 0) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
        if big:  # a zip bomb: `big` bytes of zeros that deflate to about a thousandth of that
            with z.open("bomb.txt", "w", force_zip64=True) as member:
                block = b"\x00" * (1 << 20)
                for _ in range(big >> 20):
                    member.write(block)
    return out.getvalue()


def manifest_value(book: Book, needle: str) -> str:
    """Where the value `needle` stands in the manifest (the diagnostic points at the value)."""
    line, col = book.line_of("manifest.yaml", needle)
    return f"manifest.yaml:{line}:{col}"


# --- YAML ------------------------------------------------------------------------------------------

def test_tab_in_the_manifest(good_book, capsys, monkeypatch):
    good_book.replace("manifest.yaml", "  publisher: Fixture Press\n", "\tpublisher: Fixture Press\n")
    line, _ = good_book.line_of("manifest.yaml", "\tpublisher")
    err = build_fails(good_book, capsys, monkeypatch, "Y001", f"manifest.yaml:{line}:1")
    assert "tab" in err


def test_tab_in_a_texts_front_matter(good_book, capsys, monkeypatch):
    good_book.replace("texts/two.md", "date: 1921\n", "date: 1921\n\tlanguage: en\n")
    line, _ = good_book.line_of("texts/two.md", "\tlanguage")
    err = build_fails(good_book, capsys, monkeypatch, "Y001", f"texts/two.md:{line}:1")
    assert "tab" in err


def test_a_python_tag_in_front_matter(good_book, capsys, monkeypatch):
    good_book.replace("texts/two.md", "date: 1921\n", "date: !!python/object/apply:os.system ['touch pwned']\n")
    line, col = good_book.line_of("texts/two.md", "!!python")
    build_fails(good_book, capsys, monkeypatch, "Y002", f"texts/two.md:{line}:{col}")
    assert not (good_book.root / "pwned").exists()


def test_an_alias_bomb_is_refused_at_once(good_book, capsys, monkeypatch):
    lines = ['  rights: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"  x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    good_book.replace("manifest.yaml", "  rights: Public domain.\n", "\n".join(lines) + "\n")
    line, col = good_book.line_of("manifest.yaml", "&a0")
    start = time.perf_counter()
    build_fails(good_book, capsys, monkeypatch, "Y003", f"manifest.yaml:{line}:{col}")
    assert time.perf_counter() - start < 5


def test_a_duplicate_key_in_front_matter_names_the_second(good_book, capsys, monkeypatch):
    good_book.replace("texts/two.md", "author: Bo Writer\n", "author: Bo Writer\ntitle: Another Title\n")
    line, col = good_book.line_of("texts/two.md", "title: Another")
    err = build_fails(good_book, capsys, monkeypatch, "Y004", f"texts/two.md:{line}:{col}")
    assert "(first given at line 2)" in err


def test_yaml_nested_too_deeply_is_an_error_not_a_crash(good_book, capsys, monkeypatch):
    good_book.replace("manifest.yaml", "  rights: Public domain.\n", "  rights: " + "[" * 5000 + "]" * 5000 + "\n")
    line, _ = good_book.line_of("manifest.yaml", "  rights: [")
    err = build_fails(good_book, capsys, monkeypatch, "Y001", f"manifest.yaml:{line}")
    assert "nested more than" in err


def test_no_and_3_10_unquoted_are_read_as_the_text_written(good_book, capsys, monkeypatch):
    good_book.replace("manifest.yaml", "  language: en\n", "  language: no\n  edition: 3.10\n")
    good_book.replace("texts/two.md", "language: en\n", "language: no\nversion: 3.10\n")
    manifest = load_manifest(good_book.manifest)
    assert manifest.book["language"] == "no" and manifest.book["edition"] == "3.10"
    two = next(p for p in load_book(manifest).parts if p.id == "two")
    assert two.meta["language"] == "no" and two.meta["version"] == "3.10"
    monkeypatch.chdir(good_book.root)
    assert main(["check", "manifest.yaml"]) == 0, capsys.readouterr().out


# --- paths named by the manifest -----------------------------------------------------------------------

@pytest.mark.parametrize("value, says", [
    ("/etc/passwd", "leaves the book's folder"),
    ("../outside.md", "leaves the book's folder"),
    ("texts/../../outside.md", "leaves the book's folder"),
    ("http://127.0.0.1:9/text.md", "is a URL"),
])
def test_a_text_outside_the_book_is_refused(good_book, capsys, monkeypatch, value, says):
    (good_book.root.parent / "outside.md").write_text("---\ntitle: x\nauthor: y\n---\nOutside.\n")
    good_book.replace("manifest.yaml", "texts/two.md", value)
    err = build_fails(good_book, capsys, monkeypatch, "M006", manifest_value(good_book, value))
    assert says in err


def test_a_symlink_in_texts_pointing_out_of_the_book(good_book, capsys, monkeypatch):
    outside = good_book.root.parent / "private.md"
    outside.write_text("---\ntitle: Private\nauthor: Someone Else\n---\nNot for the book.\n")
    (good_book.root / "texts" / "link.md").symlink_to(outside)
    good_book.replace("manifest.yaml", "texts/two.md", "texts/link.md")
    err = build_fails(good_book, capsys, monkeypatch, "M006", manifest_value(good_book, "texts/link.md"))
    assert "link to a file outside" in err


def test_a_symlinked_folder_pointing_out_of_the_book(good_book, capsys, monkeypatch):
    (good_book.root / "elsewhere").symlink_to("/etc")
    good_book.replace("manifest.yaml", "texts/two.md", "elsewhere/passwd")
    build_fails(good_book, capsys, monkeypatch, "M006", manifest_value(good_book, "elsewhere/passwd"))


@pytest.mark.parametrize("key, value", [("csl", "https://127.0.0.1:{port}/style.csl"),
                                        ("bibliography", "http://127.0.0.1:{port}/bibliography.yaml")])
def test_a_style_or_bibliography_url_in_the_manifest_is_never_fetched(good_book, capsys, monkeypatch, listener,
                                                                       key, value):
    value = value.format(port=listener.port)
    text = good_book.text("manifest.yaml")
    text = text.replace("bibliography: bibliography.yaml\n", "") + f"{key}: {value}\n"
    good_book.write("manifest.yaml", text)
    err = build_fails(good_book, capsys, monkeypatch, "M006", manifest_value(good_book, value))
    assert "is a URL" in err
    assert listener.hits == []


def test_a_missing_text(good_book, capsys, monkeypatch):
    good_book.replace("manifest.yaml", "texts/two.md", "texts/three.md")
    err = build_fails(good_book, capsys, monkeypatch, "M005", manifest_value(good_book, "texts/three.md"))
    assert "file 'texts/three.md' does not exist" in err


def test_a_named_pipe_as_a_text_is_refused_without_blocking(good_book, capsys, monkeypatch):
    fifo(good_book.root / "texts" / "pipe.md")
    good_book.replace("manifest.yaml", "texts/two.md", "texts/pipe.md")
    with deadline(30):
        err = build_fails(good_book, capsys, monkeypatch, "M009", manifest_value(good_book, "texts/pipe.md"))
    assert "named pipe" in err


def test_a_named_pipe_as_the_manifest(tmp_path, capsys, monkeypatch):
    fifo(tmp_path / "manifest.yaml")
    monkeypatch.chdir(tmp_path)
    with deadline(30):
        assert main(["build", "manifest.yaml"]) == 1
    assert "manifest.yaml: error M009: manifest 'manifest.yaml' is a named pipe" in capsys.readouterr().err
    assert not (tmp_path / "build").exists()


def test_a_text_over_the_size_limit(good_book, capsys, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TEXT_BYTES", 4_000)
    err = build_fails(good_book, capsys, monkeypatch, "M010", manifest_value(good_book, "texts/two.md"))
    assert "file 'texts/two.md' is 8.0 KB; the limit is 4.0 KB" in err


def test_a_50_mb_text_is_refused_at_once_under_the_default_limits(good_book, capsys, monkeypatch):
    front = good_book.text("texts/two.md").split("\n---\n", 1)[0] + "\n---\n\n"
    with open(good_book.root / "texts" / "two.md", "wb") as fh:
        fh.write(front.encode())
        paragraph = b"Workers' control of production in the factory committees. " * 16 + b"\n\n"
        while fh.tell() < 50_000_000:
            fh.write(paragraph * 1000)
        fh.truncate(50_000_000)
    start = time.perf_counter()
    err = build_fails(good_book, capsys, monkeypatch, "M010", manifest_value(good_book, "texts/two.md"))
    assert time.perf_counter() - start < 10
    assert "is 50.0 MB; the limit is 8.0 MB" in err


def test_an_epub_named_as_a_text(good_book, capsys, monkeypatch):
    (good_book.root / "texts" / "book.epub").write_bytes((good_book.build / "tiny.epub").read_bytes())
    good_book.replace("manifest.yaml", "texts/two.md", "texts/book.epub")
    err = build_fails(good_book, capsys, monkeypatch, "M011", manifest_value(good_book, "texts/book.epub"))
    assert "zip archive" in err


def test_a_zip_bomb_named_as_a_text_is_never_unpacked(good_book, capsys, monkeypatch):
    bomb = zip_bytes({"mimetype": b"application/epub+zip"}, big=64 << 20)
    assert len(bomb) < 200_000
    (good_book.root / "texts" / "two.md").write_bytes(bomb)
    start = time.perf_counter()
    build_fails(good_book, capsys, monkeypatch, "M011", manifest_value(good_book, "texts/two.md"))
    assert time.perf_counter() - start < 5


def test_a_zip_with_a_parent_member_named_as_a_headnote_writes_nothing(good_book, capsys, monkeypatch):
    (good_book.root / "notes" / "headnote-one.md").write_bytes(
        zip_bytes({"../../escaped.md": b"# escaped\n", "/tmp/absolute-escape.md": b"x"}))
    build_fails(good_book, capsys, monkeypatch, "M011", manifest_value(good_book, "notes/headnote-one.md"))
    assert not (good_book.root.parent / "escaped.md").exists()
    assert not (good_book.root.parent.parent / "escaped.md").exists()


# --- front matter that would make pandoc read or fetch ---------------------------------------------

@pytest.mark.parametrize("key, value", [
    ("csl", "http://127.0.0.1:{port}/style.csl"),
    ("bibliography", "http://127.0.0.1:{port}/refs.bib"),
    ("cover-image", "/etc/passwd"),
    ("css", "http://127.0.0.1:{port}/style.css"),
    ("include-in-header", "/etc/passwd"),
])
def test_front_matter_that_would_read_or_fetch(good_book, capsys, monkeypatch, listener, key, value):
    good_book.replace("texts/two.md", "date: 1921\n", f"date: 1921\n{key}: {value.format(port=listener.port)}\n")
    line, _ = good_book.line_of("texts/two.md", f"{key}:")
    build_fails(good_book, capsys, monkeypatch, "T005", f"texts/two.md:{line}:1")
    assert listener.hits == []


def test_a_dependent_citation_style_is_refused_before_pandoc_downloads_its_parent(
        good_book, capsys, monkeypatch, listener):
    """`pandoc --sandbox --citeproc` downloads a dependent style's `independent-parent`."""
    good_book.write("styles/dependent.csl", (BAD / "dependent.csl").read_text().replace("LOOPBACK", listener.address))
    good_book.write("manifest.yaml", good_book.text("manifest.yaml") + "csl: styles/dependent.csl\n")
    line, _ = good_book.line_of("styles/dependent.csl", 'rel="independent-parent"')
    err = build_fails(good_book, capsys, monkeypatch, "C004", f"styles/dependent.csl:{line}:1")
    assert "dependent style" in err
    assert listener.hits == []


# --- images -----------------------------------------------------------------------------------------------

def _image_text(book: Book, markdown: str) -> tuple[str, str]:
    name = book.add_text("texts/pictures.md", f"A paragraph before.\n\n{markdown}\n\nA paragraph after.\n")
    line, col = book.line_of(name, markdown)
    return name, f"{name}:{line}:{col}"


def test_a_20000_by_20000_png_of_a_few_kb_is_refused_without_decoding(good_book, capsys, monkeypatch):
    from PIL import ImageFile

    data = huge_png(20_000, 20_000)
    assert len(data) < 100_000
    good_book.root.joinpath("images").mkdir()
    (good_book.root / "images" / "huge.png").write_bytes(data)
    _, where = _image_text(good_book, "![A huge picture](images/huge.png)")
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self) or None)
    start = time.perf_counter()
    err = build_fails(good_book, capsys, monkeypatch, "G003", where)
    assert time.perf_counter() - start < 5 and decoded == []
    assert "20000 × 20000" in err or "400000000" in err


def test_a_missing_image(good_book, capsys, monkeypatch):
    _, where = _image_text(good_book, "![A figure](images/nowhere.png)")
    build_fails(good_book, capsys, monkeypatch, "G001", where)


@pytest.mark.parametrize("src", ["file:///dev/zero", "/dev/zero", "http://127.0.0.1:{port}/picture.png",
                                 "../outside.png"])
def test_an_image_outside_the_book(good_book, capsys, monkeypatch, listener, src):
    _, where = _image_text(good_book, f"![A picture]({src.format(port=listener.port)})")
    with deadline(30):
        build_fails(good_book, capsys, monkeypatch, "G002", where)
    assert listener.hits == []


def test_an_image_that_is_a_link_out_of_the_book(good_book, capsys, monkeypatch):
    good_book.root.joinpath("images").mkdir()
    (good_book.root / "images" / "passwd.png").symlink_to("/etc/passwd")
    _, where = _image_text(good_book, "![Not a picture](images/passwd.png)")
    build_fails(good_book, capsys, monkeypatch, "G002", where)


def test_an_epub_passed_as_an_image(good_book, capsys, monkeypatch):
    good_book.root.joinpath("images").mkdir()
    (good_book.root / "images" / "cover.png").write_bytes((good_book.build / "tiny.epub").read_bytes())
    _, where = _image_text(good_book, "![A cover](images/cover.png)")
    err = build_fails(good_book, capsys, monkeypatch, "G005", where)
    assert "cannot be read" in err


def test_an_image_over_the_byte_limit(good_book, capsys, monkeypatch):
    from anthology.check import images
    from PIL import Image

    monkeypatch.setattr(images, "MAX_BYTES", 10_000)
    good_book.root.joinpath("images").mkdir()
    Image.effect_noise((200, 200), 60).convert("RGB").save(good_book.root / "images" / "noise.png")
    _, where = _image_text(good_book, "![Noise](images/noise.png){width=10%}")
    build_fails(good_book, capsys, monkeypatch, "G003", where)


# --- the apparatus: citations, cross-references, notes -------------------------------------------------

def test_an_unknown_citation_key(good_book, capsys, monkeypatch):
    good_book.replace("texts/two.md", "soviet markerb1", "soviet [@nosuchbook1917, p. 3] markerb1")
    line, col = good_book.line_of("texts/two.md", "@nosuchbook1917")
    err = build_fails(good_book, capsys, monkeypatch, "C001", f"texts/two.md:{line}:{col}")
    assert "'@nosuchbook1917' is not in the bibliography" in err


def test_a_dangling_cross_reference(good_book, capsys, monkeypatch):
    good_book.replace("texts/two.md", "## Section b4", "See [the lost section](#two--section-b5).\n\n## Section b4")
    line, col = good_book.line_of("texts/two.md", "#two--section-b5")
    err = build_fails(good_book, capsys, monkeypatch, "X001", f"texts/two.md:{line}:{col}")
    assert "cross-reference to '#two--section-b5', which is nowhere in the book" in err


def test_a_note_reference_without_a_definition(good_book, capsys, monkeypatch):
    good_book.replace("texts/two.md", "markerb2[^2]", "markerb2[^2] and[^lost]")
    line, col = good_book.line_of("texts/two.md", "[^lost]")
    err = build_fails(good_book, capsys, monkeypatch, "T003", f"texts/two.md:{line}:{col}")
    assert "[^lost] has no definition" in err


def test_a_text_that_is_not_utf8(good_book, capsys, monkeypatch):
    line, col = good_book.line_of("texts/two.md", "delegate railway")
    path = good_book.root / "texts" / "two.md"
    path.write_bytes(path.read_bytes().replace(b"delegate railway", b"d\xe9l\xe9gu\xe9 railway", 1))
    err = build_fails(good_book, capsys, monkeypatch, "T009", f"texts/two.md:{line}:{col + 1}")
    assert "byte 0xe9 is not UTF-8" in err


def test_every_case_goes_through_the_command_line(good_book, capsys, monkeypatch):
    """`anthology build` exits 1 on an error and prints only diagnostics (no traceback) on stderr."""
    good_book.replace("manifest.yaml", "texts/two.md", "texts/three.md")
    monkeypatch.chdir(good_book.root)
    assert main(["build"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all(": error " in line or ": warning " in line for line in err)

