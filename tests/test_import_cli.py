"""`anthology import` from the command line: detection said, report written, bad input refused."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from anthology.cli import main
from anthology.importers.run import convert_sources

SOURCES = Path(__file__).resolve().parent.parent / "sources"
WIKI, PLAIN, PDF = (SOURCES / n for n in ("000_a9173025f80063b5.txt", "002_a42be4e05d447018.txt",
                                          "004_03e283cb6f6e4b18.txt"))


def test_import_writes_text_and_report(tmp_path, capsys):
    out, report = tmp_path / "x.md", tmp_path / "report.md"
    assert main(["import", str(WIKI), "-o", str(out), "--report", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "Format: wiki" in printed and "Detected because:" in printed
    assert out.read_text().startswith("---\ntitle: Factory Committees")
    text = report.read_text()
    assert "## Counts" in text and "## Doubts" in text and "wikilinks unlinked: 38" in text


def test_witnesses_of_different_works_refused(tmp_path, capsys):
    out = tmp_path / "x.md"
    assert main(["import", str(WIKI), str(PDF), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "error I002" in err and "Hint:" in err
    assert not out.exists()


def test_unknown_format_refused(tmp_path, capsys):
    assert main(["import", str(WIKI), "-o", str(tmp_path / "x.md"), "--format", "docx"]) == 1
    assert "error I001: unknown format 'docx'" in capsys.readouterr().err


def _words(text: str) -> Counter:
    return Counter(w.lower() for w in re.findall(r"[A-Za-z]{2,}", text))


def test_plain_seed_loses_no_word():
    result = convert_sources([PLAIN])
    source = PLAIN.read_text()
    body = source[source.index("I was attracted"):]
    body = re.sub(r"\$\\it\s*([^$]*)\$", r"\1", body)  # LaTeX italics keep their words
    body = re.sub(r"\$[^$]*\$", " ", body)  # note markers are artifacts
    missing = _words(body) - _words(result.body)
    assert not missing, f"words lost: {missing.most_common(10)}"
