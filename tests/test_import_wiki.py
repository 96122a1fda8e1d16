"""The wiki importer, on a fixture with each kind of wiki markup and on the real seed."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from anthology.importers import detect_format
from anthology.importers.run import convert_sources, corrections_path, import_text, recipe
from anthology.manifest import load_manifest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "import" / "wiki" / "page.md"
SEED = ROOT / "sources" / "000_a9173025f80063b5.txt"


@pytest.fixture(scope="module")
def page():
    return convert_sources([FIXTURE])


def test_detected_as_wiki():
    name, reason = detect_format(FIXTURE.read_text())
    assert name == "wiki" and "wikilinks" in reason


def test_links_become_their_text_even_across_lines(page):
    assert "wikilink" not in page.body
    assert "The workers'\ncouncils met in the *Great\nHall* every week.[^1]" in page.body
    assert "More text about Councils." in page.body


def test_categories_references_and_empty_notes_heading_dropped(page):
    assert "Category" not in page.body and "<references" not in page.body
    assert "## Notes" not in page.body and "External" not in page.body
    assert page.report.counts["category_links_removed"] == 2


def test_footnotes_intact_with_their_continuations(page):
    assert "[^1]: See Rosa, *Works*, p. 3, a long note\n    that continues on an indented line." in page.body
    assert "[^2]: *Ibid.*" in page.body
    assert page.report.counts["notes_found"] == 2 == page.report.counts["notes_anchored"]


def test_front_matter_kept_and_completed(page):
    meta = page.metadata
    assert meta["title"] == "On the Councils"
    assert meta["author"] == "Ida Example" and meta["date"] == 1921
    assert meta["retrieved-from"] == "https://example.org/councils.htm"
    assert meta["wiki-page"] == "/On_the_Councils_(Essay)/"
    assert "1921 essay" in meta["source-note"]
    assert any("author taken" in d.message for d in page.report.doubts)


def test_the_lead_is_not_taken_for_the_authors_text(page):
    assert "is a 1921 essay" not in page.body
    assert page.body.startswith("The workers'")


def _words(text: str) -> Counter:
    return Counter(re.findall(r"[A-Za-z]+", text))


def test_real_seed_every_note_and_word_kept():
    result = convert_sources([SEED])
    body = result.body
    refs = set(re.findall(r"\[\^(\d+)\](?!:)", body))
    defs = set(re.findall(r"^\[\^(\d+)\]:", body, re.M))
    assert refs == defs == {str(n) for n in range(1, 19)}
    assert "wikilink" not in body and "Category:" not in body and "<references" not in body
    source = SEED.read_text()
    transcript = source[source.index("## Transcript"):]
    transcript = re.sub(r'\]\((?:[^()\s"]|\([^()]*\))+\s+"wikilink"\)', "]", transcript)
    transcript = transcript[: transcript.index("## Notes")] + transcript[transcript.index("[^1]:"):]
    missing = _words(transcript) - _words(body) - Counter({"Transcript": 1})
    assert not missing, f"words lost: {missing.most_common(10)}"


def test_reimport_reproduces_every_text_exactly(tmp_path):
    manifest = load_manifest(ROOT / "manifest.yaml")
    checked = 0
    for item in manifest.contents:
        if item.kind != "text" or not (r := recipe(item.path)):
            continue
        sources, fmt = r
        out = tmp_path / item.path.name
        import_text([ROOT / s for s in sources], out, fmt, ROOT, corrections=corrections_path(item.path))
        assert out.read_text() == item.path.read_text(), f"{item.path.name} differs from a fresh import"
        checked += 1
    assert checked >= 1
