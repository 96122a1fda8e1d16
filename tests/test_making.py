"""Texts made in a child process (making.py): the same book, the same cache, the same log, the same errors."""
from __future__ import annotations

import logging
import os
import shutil
import threading

import pytest
from conftest import FIXTURES
from helpers import log_records

from anthology import making
from anthology.build import Stages, build
from anthology.cache import BuildCache
from anthology.manifest import load_manifest
from anthology.messages import AnthologyError
from anthology.model import load_book


@pytest.fixture
def apart(monkeypatch):
    """Every text made in a child process, however little there is to make."""
    monkeypatch.setattr(making, "APART_FROM", -1)


def _copy(tmp_path):
    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    return root / "manifest.yaml"


def test_texts_made_apart_give_the_same_book_and_fill_the_same_cache(tmp_path, apart):
    manifest = _copy(tmp_path)
    with log_records("anthology") as records:
        result = build(manifest)
    converted = [r for r in records if getattr(r, "cache_event", None) == "converted"]
    assert converted and {r.process for r in converted} != {os.getpid()}, "made in another process"
    assert {r.cache_label for r in converted} == {"notes/intro.md", "notes/headnote-one.md", "texts/one.md",
                                                 "texts/two.md", "bibliography.yaml"}
    assert len(result.converted) == 9
    stages = dict(result.stages)
    assert {"pandoc: Markdown to AST", "transforming the texts", "keeping the finished texts"} <= set(stages)
    assert any(getattr(r, "stage_event", None) == "end" and r.stage == "pandoc: AST to HTML" for r in records)

    with log_records("anthology") as records:
        again = build(manifest)  # the child's cache entries were kept: nothing to make
    assert again.converted == [] and not [r for r in records if getattr(r, "cache_event", None) == "converted"]

    build(manifest, tmp_path / "here", use_cache=False)
    for kind in ("pdf", "epub"):
        assert result.outputs[kind].read_bytes() == (tmp_path / "here" / f"tiny.{kind}").read_bytes(), kind


def test_an_error_in_texts_made_apart_names_its_file_and_line(tmp_path, apart):
    manifest = _copy(tmp_path)
    intro = manifest.parent / "notes" / "intro.md"
    intro.write_text(intro.read_text().replace("(#two--section-b4)", "(#two--section-b7)", 1))
    book = load_book(load_manifest(manifest))  # as the build does after `check`, which would find it first
    with pytest.raises(AnthologyError) as refused:
        making.make_texts(book, BuildCache(None), Stages())
    line = next(n for n, text in enumerate(intro.read_text().splitlines(), 1) if "#two--section-b7" in text)
    assert ("X001", "notes/intro.md", line) in [(d.code, d.file, d.line) for d in refused.value.diagnostics]


def test_the_childs_warnings_reach_the_build_log(tmp_path, apart):
    manifest = _copy(tmp_path)
    text = manifest.parent / "texts" / "two.md"
    text.write_text(text.read_text() + "\n[^orphan]: A note nobody calls.\n")
    with log_records("anthology") as records:
        build(manifest, only=("epub",))
    said = [r for r in records if r.levelno >= logging.WARNING and "texts/two.md" in r.getMessage()]
    assert said and {r.process for r in said} != {os.getpid()}


def test_a_child_that_ends_before_it_starts_stops_the_build_with_b010(tmp_path, apart, monkeypatch):
    """A child that ends before it has read its arguments (here: its main module ends it) must
    not leave the build writing to it for ever: the book goes through a pipe of its own, and the
    build stops with B010."""
    import sys

    main = tmp_path / "ends.py"
    main.write_text("import os\nos._exit(3)\n")
    monkeypatch.setattr(sys.modules["__main__"], "__spec__", None, raising=False)
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(main), raising=False)
    manifest = _copy(tmp_path)
    book = load_book(load_manifest(manifest))
    book.parts[1].body += "\n\n" + "A long paragraph to send. " * 20_000  # more than a pipe holds
    outcome = []

    def make():
        try:
            making.make_texts(book, BuildCache(None), Stages())
        except AnthologyError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=make, daemon=True)  # a hang fails the test, not the session
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the build still waits on a child that has ended"
    assert [d.code for d in outcome[0].diagnostics] == ["B010"]
    assert "exit status 3" in outcome[0].diagnostics[0].message


def test_texts_made_apart_keep_their_asts_packed_and_give_the_same_outputs(tmp_path, monkeypatch):
    """The child keeps each AST as JSON text between the stages (model.Part.packed), parsing one
    at a time: the book is the same, byte for byte, as one made in the build's process."""
    manifest = _copy(tmp_path)
    here = build(manifest, tmp_path / "here", use_cache=False).outputs
    monkeypatch.setattr(making, "APART_FROM", -1)
    packed = build(manifest, tmp_path / "apart", use_cache=False).outputs
    for kind in ("pdf", "epub"):
        assert packed[kind].read_bytes() == here[kind].read_bytes(), kind


def test_a_packed_part_parses_its_ast_when_it_is_used_and_keeps_its_text():
    from anthology.model import Part

    part = Part("one", "text", None, None)
    part.packed = True
    part.keep_ast_json("ast", '{"blocks":[]}')
    assert part._asts["ast"] == '{"blocks":[]}' and part.ast == {"blocks": []}
    assert part.ast is not part.ast, "parsed anew each time: nothing held"
    with part.unpacked():
        tree = part.ast
        assert part.ast is tree, "parsed once for several passes"
        part.ast = {"blocks": [{"t": "Para", "c": []}]}
    assert part._asts["ast"] == '{"blocks": [{"t": "Para", "c": []}]}'
    assert part.ast_json("ast") == part._asts["ast"] and part.ast_json("headnote_ast") is None


def test_a_book_whose_texts_will_be_made_apart_is_known_before_they_are_read(tmp_path, monkeypatch):
    """By its files' sizes: its layout workers then start after the texts, not beside the child."""
    manifest = load_manifest(_copy(tmp_path))
    assert not making.likely_made_apart(manifest)
    monkeypatch.setattr(making, "APART_FROM", 100)
    assert making.likely_made_apart(manifest)
