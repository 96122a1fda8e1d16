"""Witness merging: several sources of one work → one best text."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from anthology.importers import REGISTRY
from anthology.importers.witnesses import merge_witnesses, similarity, load
from anthology.messages import AnthologyError

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "import" / "witnesses"
SOURCES = ROOT / "sources"
IN_ORDER = FIXTURES / "bakers_pdf_in_order.txt"            # pdf-text, pages in order
PAGES_SHUFFLED = FIXTURES / "bakers_pdf_pages_shuffled.txt"  # pdf-text, pages out of order
PLAIN_SHUFFLED = FIXTURES / "bakers_plain_fragments_shuffled.txt"  # plain, fragments out of order
OTHER_WORK = FIXTURES / "reading_room_other_work.txt"

REF = re.compile(r"\[\^([^\]\s]+)\](?!:)")
DEF = re.compile(r"^\[\^([^\]\s]+)\]: ", re.M)


def need_pdf_text():
    if "pdf-text" not in REGISTRY:
        pytest.fail("the pdf-text importer (anthology/importers/pdf_text.py) is not registered: "
                    "the witness tests need it to read the PDF witnesses")


def merge(*paths: Path):
    need_pdf_text()
    return merge_witnesses([(str(p), p.read_text(encoding="utf-8")) for p in paths])


def text_only(body: str) -> str:
    return body[:DEF.search(body).start()] if DEF.search(body) else body


def notes_of(body: str) -> dict[str, str]:
    """label → definition text (continuation lines joined)."""
    out = {}
    for m in re.finditer(r"^\[\^([^\]\s]+)\]: (.*(?:\n    .*)*)", body, re.M):
        out[m.group(1)] = re.sub(r"\s+", " ", m.group(2)).strip()
    return out


def anchored_once(body: str) -> bool:
    refs = REF.findall(text_only(body))
    return sorted(refs) == sorted(set(refs)) and set(refs) == set(notes_of(body))


# --- small fixtures: one witness in order, two with shuffled pages -------------------------------

@pytest.fixture(scope="module")
def bakers():
    return merge(PAGES_SHUFFLED, PLAIN_SHUFFLED, IN_ORDER)


def test_in_order_witness_is_the_base(bakers):
    assert bakers.metadata["witness-base"] == str(IN_ORDER)
    why = bakers.report.repairs[0]
    assert why.startswith(f"base: {IN_ORDER.name}, because its order agrees best")
    assert "blocks" in why and "seams" in why  # the figures are reported
    # the order of the merged text is the in-order witness's
    body = text_only(bakers.body)
    assert body.index("delivery rounds were drawn by lot") < body.index("In the hard winter of 1930") \
        < body.index("None of this made the bakery modern")


def test_base_does_not_depend_on_the_order_of_the_sources():
    other = merge(IN_ORDER, PLAIN_SHUFFLED, PAGES_SHUFFLED)
    assert other.metadata["witness-base"] == str(IN_ORDER)


def test_lost_marker_restored_from_the_other_witnesses(bakers):
    body = text_only(bakers.body)
    # the base lost note 2's marker and guessed it at the sentence its words match best
    assert re.search(r"ovens lit through the winter\.\[\^2\] Any member", body)
    assert "purchase of grain. The bakers" in body
    assert "guessed note position" not in bakers.body
    assert any(r.startswith("note 2: marker restored") and "winter." in r for r in bakers.report.repairs)
    assert anchored_once(bakers.body)
    assert notes_of(bakers.body)["2"].startswith("The minutes of the May meeting")


def test_hyphen_as_the_other_witnesses_print_it(bakers):
    # the base broke "co-operative" at a line end and its importer joined it
    body = text_only(bakers.body)
    assert "called the bakery a co-operative society of equals" in body
    assert "cooperative" not in body
    repair = next(r for r in bakers.report.repairs if "co-operative" in r)
    before, after = repair.split(" → ")
    assert "hyphen" in repair and "a cooperative society" in before and "a co-operative society" in after


def test_ocr_slip_fixed_by_agreement(bakers):
    body = text_only(bakers.body)
    assert "The oven was fired at dawn" in body
    assert "fined" not in body
    repair = next(r for r in bakers.report.repairs if "fired" in r)
    assert "agree against the base" in repair and "was fined at dawn" in repair


def test_words_the_witnesses_agree_on_are_untouched(bakers):
    in_order = load(str(IN_ORDER), IN_ORDER.read_text(encoding="utf-8"))
    base_text = re.sub(r"<!--.*?-->", "", REF.sub("", in_order.main.text))
    base_words = re.findall(r"[\w’'-]+", base_text)
    merged_words = re.findall(r"[\w’'-]+", REF.sub("", text_only(bakers.body)))
    changed = [(a, b) for a, b in zip(base_words, merged_words) if a != b]
    assert len(base_words) == len(merged_words)
    assert sorted(changed) == [("cooperative", "co-operative"), ("fined", "fired")]


def test_metadata_merged(bakers):
    meta = bakers.metadata
    assert meta["title"] == "The Bakers of Harwood Lane"
    assert meta["author"] == "Ann Example"
    assert meta["retrieved-from"] == "Retrieved on 2nd May 2021 from example.org."
    assert meta["rights"] == "Anti-Copyright"
    assert meta["sources"] == [str(IN_ORDER), str(PAGES_SHUFFLED), str(PLAIN_SHUFFLED)]


def test_different_works_are_refused():
    with pytest.raises(AnthologyError) as caught:
        merge(IN_ORDER, OTHER_WORK)
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "I002"
    assert str(IN_ORDER) in diagnostic.message and str(OTHER_WORK) in diagnostic.message
    assert re.search(r"share \d+\.\d% of their word 5-grams", diagnostic.message)


def test_similarity_separates_same_and_different_works():
    need_pdf_text()
    a, b, c = (load(str(p), p.read_text(encoding="utf-8")) for p in (IN_ORDER, PLAIN_SHUFFLED, OTHER_WORK))
    assert similarity(a, b) > 0.8
    assert similarity(a, c) < 0.05


# --- the real witnesses of the Wetzel review ----------------------------------------------------

W004 = SOURCES / "004_03e283cb6f6e4b18.txt"
W002 = SOURCES / "002_a42be4e05d447018.txt"
W001 = SOURCES / "001_2fd544a63aa15d17.txt"
W000 = SOURCES / "000_a9173025f80063b5.txt"

# Each note of the review (found by words of its definition) and the words its marker follows,
# read off the three witnesses by hand.
WETZEL_NOTES = {
    "Alan Maas": "attaining power in the Russian revolution.",
    "Oscar Anweiler": "sent out a call for election of delegates.",
    "Paul Avrich": "all kinds of unexpected and unaccustomed duties.”",
    "John Reed, “The Structure": "was premier or head of the government.",
    "Peter Rachleff, Soviets": "become the new polity or governmental structure.",
    "E. H. Carr": "nothing would have dammed the tide of revolt.”",
    "Quoted in Brinton": "demanded total subordination on the part of the Committees.”",
    "G. P. Maximov": "This was Maximov’s libertarian socialist path for Russian agriculture.",
    "Coordinator class": "the power of this techno-managerial or coordinator class",
}


@pytest.fixture(scope="module")
def wetzel():
    need_pdf_text()
    start = time.perf_counter()
    result = merge(W004, W002, W001)
    return result, time.perf_counter() - start


def test_wetzel_base_is_the_pdf_in_order(wetzel):
    result, _ = wetzel
    assert result.metadata["witness-base"] == str(W004)
    assert result.report.repairs[0].startswith(f"base: {W004.name}")


def test_wetzel_every_note_anchored_exactly_once_in_its_place(wetzel):
    result, _ = wetzel
    body, notes = text_only(result.body), notes_of(result.body)
    assert len(notes) == 9
    assert anchored_once(result.body)
    for words, before in WETZEL_NOTES.items():
        label = next(l for l, t in notes.items() if t.startswith(("“" + words, words)) or words in t[:40])
        assert f"{before}[^{label}]" in body, f"note {label} ({words}) is not after '{before}'"
    assert "guessed note position" not in result.body


def test_wetzel_repairs_reported(wetzel):
    result, _ = wetzel
    repairs = result.report.repairs
    body = text_only(result.body)
    # the base lost note 3's marker: restored where the plain witness has it
    assert any(r.startswith("note ") and "unaccustomed duties.”[^" in r for r in repairs)
    # extraction slips the other witnesses read cleanly
    assert "World War I. For example" in body and "World War L" not in body
    assert "I’m not here arguing" in body and "I’'m" not in body
    assert "in the early 20th century" in body and '20"' not in body
    assert "coordinator class’" not in body  # debris of a garbled marker
    assert "*The Bolsheviks and Workers Control*" in body  # italics the PDF lost
    # every repair shows the base's text before and after
    assert all(" → " in r for r in repairs if r.startswith(("text:", "note ")))


def test_wetzel_metadata(wetzel):
    meta = wetzel[0].metadata
    assert meta["retrieved-from"] == "Retrieved on 12th October 2020 from libcom.org."
    assert meta["rights"] == "Anti-Copyright"
    assert meta["author"] == "Tom Wetzel"
    assert meta["sources"] == [str(W004), str(W002), str(W001)]


def test_wetzel_merge_is_fast(wetzel):
    assert wetzel[1] < 3.0


def test_wiki_and_pdf_of_different_works_refused():
    with pytest.raises(AnthologyError) as caught:
        merge(W000, W004)
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "I002"
    assert str(W000) in diagnostic.message and str(W004) in diagnostic.message


def test_notes_the_base_lost_are_taken_from_the_others():
    # The base lost note 1 altogether (marker and definition) and printed note 3's
    # definition as a paragraph of its own, on a page with no text.
    damaged = FIXTURES / "bakers_pdf_notes_damaged.txt"
    result = merge(damaged, PLAIN_SHUFFLED, PAGES_SHUFFLED)
    assert result.metadata["witness-base"] == str(damaged)
    body, notes = text_only(result.body), notes_of(result.body)
    assert anchored_once(result.body) and len(notes) == 3
    assert notes["1"] == "Street survey of Harwood Lane, 1929, kept in the parish records."
    assert notes["3"] == "Letters of M. Field to the author, 1934."
    assert "did not bake themselves.[^1] The profit" in body
    assert "in other towns.[^3] Their sheet" in body
    assert "Letters of M. Field" not in body
    assert any("left in the text flow" in r for r in result.report.repairs)
