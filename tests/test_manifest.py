"""Malformed manifests: each problem reported as file:line:col with its code, all at once."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from anthology.cli import main
from anthology.manifest import load_manifest
from anthology.messages import AnthologyError

TINY = Path(__file__).parent / "fixtures" / "books" / "tiny"


@pytest.fixture
def book(tmp_path) -> Path:
    dest = tmp_path / "book"
    shutil.copytree(TINY, dest, ignore=shutil.ignore_patterns("build"))
    return dest


def _run(book: Path, manifest_text: str, capsys) -> tuple[int, str]:
    (book / "manifest.yaml").write_text(manifest_text)
    code = main(["build", str(book / "manifest.yaml")])
    return code, capsys.readouterr().err


def _replace(book: Path, old: str, new: str) -> str:
    text = (book / "manifest.yaml").read_text()
    assert old in text
    return text.replace(old, new)


def test_syntax_error(book, capsys):
    code, err = _run(book, _replace(book, "  language: en\n", "  language: [en\n"), capsys)
    assert code == 1
    assert "manifest.yaml:" in err and "error Y001" in err and "Hint:" in err
    assert not (book / "build").exists(), "nothing is built"


def test_syntax_error_position(book, capsys):
    code, err = _run(book, "schema: 1\nbook:\n  title: x\n\teditors: []\n", capsys)
    assert code == 1
    assert "manifest.yaml:4:1: error Y001" in err


def test_unknown_key_names_line_and_suggests(book, capsys):
    text = _replace(book, "  publisher: Fixture Press\n", "  publisher: Fixture Press\n  editros: [X]\n")
    code, err = _run(book, text, capsys)
    line = text.splitlines().index("  editros: [X]") + 1
    assert f"manifest.yaml:{line}:3: warning M002: unknown key 'book.editros'" in err
    assert "Did you mean 'editors'?" in err
    assert code == 0, "an unknown key is a warning; the book still builds"


def test_missing_file(book, capsys):
    text = _replace(book, "texts/two.md", "texts/three.md")
    code, err = _run(book, text, capsys)
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "texts/three.md" in l)
    assert code == 1
    assert f"manifest.yaml:{line}:11: error M005: file 'texts/three.md' does not exist" in err
    assert not (book / "build").exists()


def test_all_problems_reported_at_once(book, capsys):
    text = _replace(book, "texts/two.md", "texts/three.md")
    text = text.replace("  trim: a5", "  trim: letter").replace("  title: Tiny Fixture Book\n", "")
    code, err = _run(book, text, capsys)
    assert code == 1
    assert "error M005" in err and "error M004" in err and "error M001" in err


@pytest.mark.parametrize("snippet, code", [
    ("  rights: !!python/object:os.system x\n", "Y002"),
    ("  rights: &r Public\n  description: *r\n", "Y003"),
    ("  rights: one\n  rights: two\n", "Y004"),
])
def test_unsafe_yaml_refused(book, capsys, snippet, code):
    text = _replace(book, "  rights: Public domain.\n", snippet)
    status, err = _run(book, text, capsys)
    assert status == 1 and f"error {code}" in err


def test_yaml_1_1_surprises_read_as_text(book):
    text = _replace(book, "  language: en\n", "  language: no\n  edition: 3.10\n")
    (book / "manifest.yaml").write_text(text)
    manifest = load_manifest(book / "manifest.yaml")
    assert manifest.book["language"] == "no" and manifest.book["edition"] == "3.10"


def test_path_leaving_the_book_refused(book):
    text = _replace(book, "texts/two.md", "../outside.md")
    (book.parent / "outside.md").write_text("---\ntitle: x\nauthor: y\n---\n")
    (book / "manifest.yaml").write_text(text)
    with pytest.raises(AnthologyError) as exc:
        load_manifest(book / "manifest.yaml")
    assert [d.code for d in exc.value.diagnostics] == ["M006"]


def test_docs_match_schema():
    from anthology.schema import schema_markdown
    docs = Path(__file__).resolve().parent.parent / "docs" / "manifest.md"
    assert docs.read_text() == schema_markdown(), "run `anthology schema > docs/manifest.md`"
