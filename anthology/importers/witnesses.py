"""Several witnesses of one work → one best text.

`merge_witnesses([(name, text), …])` converts each source with the importer
`detect_format` picks, then:

1. **Same work?** Each pair of witnesses is compared on their normalised word
   streams (lower case, letters and digits only, so typography, hyphens and note
   markers do not count): the share of word 5-grams of the shorter witness found
   in the other. Witnesses of one work share most of them (≥ 0.6 even for a
   badly scrambled extraction); different works share almost none (< 0.05). Below
   `SAME_WORK` the merge is refused with I002, naming both files and the figure.
2. **Which witness is in reading order?** Word 4-grams that occur exactly once in
   each of two witnesses anchor them to each other, and the anchors chain into
   blocks both read contiguously. A witness in reading order is cut only where the
   others' pages were moved, while two scrambled witnesses are cut in both their
   ways: the witness sharing its text with the others in the fewest blocks (on
   average) is in order. A second, independent test reads the seams — the places
   where another witness's blocks break — in each witness's own text: a sentence
   ended before a lower-case word, a paragraph broken mid-sentence, a word left
   hyphenated, a capitalised common word after an unfinished sentence are pages
   glued in the wrong place; the witness in order reads on naturally there. The
   block counts decide when they separate the witnesses clearly, or when both tests
   agree; otherwise (two witnesses share the same blocks whichever is in order) the
   seams decide, with a doubt. All figures, and the share of shared 4-grams each
   pair reads in the same order (longest increasing subsequence), are reported.
3. **Repairs of the base**, each listed in `report.repairs` with the base's text
   before and after:
   - note markers: notes are matched across witnesses by the text of their
     definitions (not their labels, which garbled markers make unreliable), and by
     where they stand when their words are alike (`Ibid., p. 12`). A note
     the base has no reference for, or whose reference its importer had to guess
     (the `GUESSED` comment, or `guessed_notes`), gets the place the other
     witnesses anchor it at (the word before their marker, aligned into the base).
     Debris of a garbled marker the base's importer did not recognise
     (`class’ is`) is removed there. A note the base lost altogether is taken from
     the witness that has it; one its importer left in the text flow, or could not
     place (`<!-- anthology: unplaced note … -->`), becomes a note again;
   - hyphens: where the base joined a word broken at a line end and the other
     witnesses print it inside a line, their form is used (`topdown` → `top-down`);
     a form the base prints inside a line is the author's and stays;
   - extraction slips: where the other witnesses (two or more) agree against the
     base; or where the base's reading is damaged on its face (`I’'m`, `20"`, `p- 69`,
     a sentence ending on a closing quotation mark without its full stop) and a
     witness reads it cleanly; or where a quotation the base's paragraph leaves open
     is closed in a witness; or where the base and a witness at least as clean differ
     only by characters OCR confuses and the witness's reading is a far more common
     word (`War L.` / `War I.`);
   - italics a PDF extraction lost, from a witness that kept them (`*Liberation*`).
   Authors' words are never rewritten: a difference that is not extraction damage
   (other wording, another spelling, another typography) is left as the base has it.
4. **Metadata**: the keys of every witness, the richest title block first (the
   plain edition's usually: `retrieved-from`, `rights`), conflicts reported as
   doubts; `sources` lists the witnesses and `witness-base` names the base.
"""
from __future__ import annotations

import difflib
import re
from collections import Counter, defaultdict

from .. import messages
from .base import ImportedText, ImportReport
from .witness_text import (
    _EMPHASIS,
    _REF,
    align,
    Alignment,
    canon,
    choose_base,
    damaged,
    hyphen_forms,
    load,
    noise,
    norm,
    NOTE_MATCH,
    SAME_WORK,
    SHINGLE,
    similarity,
    skeleton,
    Text,
    Witness,
    ZW,
)
from .witness_notes import NoteMarkers
from .witness_spans import (
    _apply, _commonness, _context, _core, _curly, _quote_count, _short, _straight, _unbalanced, _without_quotes,
    _word_end, _word_start, smart_quotes,
)


# --- the merge ------------------------------------------------------------------------------

def merge_witnesses(sources: list[tuple[str, str]]) -> ImportedText:
    if not sources:
        raise ValueError("no witnesses to merge")
    ws = [load(name, text) for name, text in sources]
    report = ImportReport(source=" + ".join(w.name for w in ws), format="witnesses")
    report.detection = "; ".join(f"{w.short}: {w.fmt} ({w.reason})" for w in ws)
    if len(ws) == 1:
        only = ws[0].imported
        only.metadata.setdefault("sources", [ws[0].name])
        return only
    _check_same_work(ws, report)
    b = choose_base(ws, report)
    base, others = ws[b], [w for k, w in enumerate(ws) if k != b]
    for w in ws:
        for d in w.imported.report.doubts:
            if w is base:
                report.doubts.append(d)
        for key, n in w.imported.report.counts.items():
            report.counts[f"{w.short}: {key}"] += n
        if w is not base:  # about a text the merge did not keep; counted, not listed
            report.counts[f"{w.short}: doubts"] = len(w.imported.report.doubts)
    merger = _Merger(base, others, report)
    body = merger.run()
    metadata = _merge_metadata(base, others, report)
    return ImportedText(metadata, body, report)


def _check_same_work(ws: list[Witness], report: ImportReport) -> None:
    worst = None
    for x in range(len(ws)):
        for y in range(x + 1, len(ws)):
            s = similarity(ws[x], ws[y])
            report.counts[f"similarity {ws[x].short} / {ws[y].short} (permille)"] = round(s * 1000)
            if worst is None or s < worst[0]:
                worst = (s, ws[x], ws[y])
    s, a, b = worst
    if s < SAME_WORK:
        raise messages.error(
            "I002", f"{a.name} and {b.name} are not witnesses of the same work: they share {s:.1%} of "
                    f"their word {SHINGLE}-grams (witnesses of one work share at least {SAME_WORK:.0%})",
            file=b.name)


def _merge_metadata(base: Witness, others: list[Witness], report: ImportReport) -> dict:
    ws = sorted([base] + others, key=lambda w: -len(w.imported.metadata))
    meta: dict = {}
    origin: dict[str, Witness] = {}
    for w in ws:
        for k, v in w.imported.metadata.items():
            if k in ("sources", "import-format"):
                continue
            if isinstance(v, str) and w is not base and _curly(base.main.text):
                v = smart_quotes(v)  # in the typography of the text it heads
            if k not in meta:
                meta[k], origin[k] = v, w
            elif isinstance(v, str) and isinstance(meta[k], str) and canon(v) != canon(meta[k]):
                report.doubt(None, f"{k}: {meta[k]!r} (from {origin[k].short}); {w.short} has {v!r}")
    meta["sources"] = [base.name] + [w.name for w in others]
    meta["witness-base"] = base.name
    return meta


class _Merger(NoteMarkers):
    def __init__(self, base: Witness, others: list[Witness], report: ImportReport):
        self.base, self.others, self.report = base, others, report
        self.edits: list[tuple[int, int, str]] = []        # on base.main.text
        self.note_edits: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        self.align = {o.name: align(base.main.norms, o.main.norms) for o in others}
        self.noise = {w.name: noise(w) for w in [base] + others}
        self.forms = {w.name: hyphen_forms(w.raw) for w in [base] + others}
        self.curly = _curly(base.main.text)
        self.resolved: set[str] = set()  # notes whose guessed or lost marker the merge settled
        self.missing: list[tuple[Witness, str]] = []  # notes of other witnesses the base lacks
        self.added: dict[str, str] = {}  # label → definition of notes taken from another witness
        self.stray_spans: set[int] = set()  # base tokens of notes left in its text flow
        report.repairs.append("cleanness (share of words damaged on their face): " + ", ".join(
            f"{w.short} {self.noise[w.name]:.2%}" for w in [base] + others))

    # The steps ----------------------------------------------------------------------------

    def run(self) -> str:
        matches = self._match_notes()
        main_readings = {o.name: (o.main, self.align[o.name]) for o in self.others}
        note_readings = {label: {o.name: (o.notes[ol], align(text.norms, o.notes[ol].norms, k=2))
                                 for o in self.others if (ol := matches.get(label, {}).get(o.name))}
                         for label, text in self.base.notes.items()}
        self._words(self.base.main, main_readings, self.edits, where="text")
        for label, text in self.base.notes.items():
            self._words(text, note_readings[label], self.note_edits[label], where=f"note {label}")
        self._emphasis(self.base.main, main_readings, self.edits, where="text")
        for label, text in self.base.notes.items():
            self._emphasis(text, note_readings[label], self.note_edits[label], where=f"note {label}")
        self._markers(matches)
        self._missing_notes()
        # The base importer's doubts about markers the other witnesses have now settled.
        self.report.doubts = [d for d in self.report.doubts if not (
            d.source == self.base.name and "guess" in d.message
            and any(f"[^{label}]" in d.message for label in self.resolved))]
        self._coverage()
        return self._render()

    def _match_notes(self) -> dict[str, dict[str, str]]:
        """base label → {other witness: its label for the same note}, by definition text."""
        out: dict[str, dict[str, str]] = defaultdict(dict)
        base_at = {l: t for l, t in reversed(self.base.refs) if l not in self.base.guessed}
        for o in self.others:
            al = self.align[o.name]
            o_at = {l: self._map(t, al, o) for l, t in reversed(o.refs) if l not in o.guessed}
            scored = []
            for bl, bt in self.base.notes.items():
                for ol, ot in o.notes.items():
                    r = difflib.SequenceMatcher(None, bt.norms, ot.norms, autojunk=False).ratio()
                    if r < NOTE_MATCH:
                        continue
                    # Notes alike in words ("Ibid., p. 12") are told apart by where they are.
                    a, b = base_at.get(bl), o_at.get(ol)
                    if a is not None and b is not None:
                        r += 0.5 if abs(a - b) <= 40 else -0.3 if abs(a - b) > 400 else 0
                    scored.append((r, bl, ol))
            taken_b, taken_o = set(), set()
            for r, bl, ol in sorted(scored, reverse=True):
                if bl not in taken_b and ol not in taken_o:
                    out[bl][o.name] = ol
                    taken_b.add(bl)
                    taken_o.add(ol)
            for ol in o.notes:
                if ol not in taken_o:
                    self.missing.append((o, ol))
        return out

    # Words ---------------------------------------------------------------------------------

    def _readings(self, text: Text, others: dict[str, tuple[Text, Alignment]]):
        """(b_lo, b_hi) → {witness: its reading} for every place some witness differs."""
        keys: set[tuple[int, int]] = set()
        per: dict[str, dict[tuple[int, int], str]] = {}
        for name, (ot, al) in others.items():
            d = {}
            for b0, b1, o0, o1 in al.pieces:
                reading = ot.span(o0, o1)
                if b1 - b0 > 3 or o1 - o0 > 3:
                    continue
                base_reading = text.span(b0, b1)
                if canon(reading) != canon(base_reading):
                    keys.add((b0, b1))
                d[b0, b1] = reading
            per[name] = d
        out = {}
        for key in sorted(keys):
            readings = {}
            for name, (ot, al) in others.items():
                if key in per[name]:
                    readings[name] = per[name][key]
                elif key[1] > key[0] and all(i in al.b2o for i in range(*key)):
                    js = [al.b2o[i] for i in range(*key)]
                    if js == list(range(js[0], js[0] + len(js))):
                        readings[name] = ot.span(js[0], js[-1] + 1)
            out[key] = readings
        return out

    def _words(self, text: Text, others: dict[str, tuple[Text, Alignment]], edits: list, where: str):
        base = self.base
        broken, printed = self.forms[base.name]
        for (b0, b1), readings in self._readings(text, others).items():
            if b0 == b1:
                continue  # words the base lacks: too risky to insert by vote (reported by coverage)
            mine = text.span(b0, b1)
            original = text.text[text.toks[b0].start:text.toks[b1 - 1].end]
            if "[^" in original or "<!--" in original or "*" in original:
                continue  # a note reference, comment or emphasis inside: leave it whole
            after = text.shadow[text.toks[b1 - 1].end:text.toks[b1].start + 1].replace(ZW, "") \
                if b1 < len(text.toks) else ""
            after = "" if "\n\n" in after else after
            differing = {n: r for n, r in readings.items() if canon(r) != canon(mine)}
            if not differing:
                continue
            verdict = self._hyphen(mine, differing, readings, broken, printed) or \
                self._slip(mine, after, readings, differing, _unbalanced(text.shadow, text.toks[b0].start))
            if verdict is None:
                continue
            new, why = verdict
            new = self._restyle(new, mine)
            if new == mine:
                continue
            s, e = text.toks[b0].start, text.toks[b1 - 1].end
            edits.append((s, e, new))
            context = _context(text.shadow, s, e)
            self.report.repairs.append(f"{where}: {why}: '{context}' → "
                                       f"'{_context(text.shadow, s, e, new)}'")
            self.report.counts["hyphens_restored" if "hyphen" in why else "slips_fixed"] += 1

    def _hyphen(self, mine, differing, readings, broken, printed):
        core = _core(mine)
        if not re.search(r"[^\W\d_]-?[^\W\d_]", core):
            return None
        forms = {n: _core(r) for n, r in differing.items() if _core(r) != core}
        if not forms or any(f.replace("-", "") != core.replace("-", "") for f in forms.values()):
            return None
        if printed[core.lower()] or not broken[norm(core)]:
            return None  # the base prints this form inside a line: the hyphen (or none) is the author's
        votes = Counter()
        for name, f in forms.items():
            if self.forms[name][1][f.lower()]:
                votes[f] += 1
        if len(votes) != 1:
            return None
        form = next(iter(votes))
        names = ", ".join(_short(x) for x, f in forms.items() if f == form)
        return mine.replace(core, form), (f"hyphen as {names} print it (the base's '{core}' comes from a "
                                          "word broken at a line end)")

    def _slip(self, mine, after, readings, differing, unbalanced=False):
        if any(len(r.split()) != len(mine.split()) for r in differing.values()):
            return None
        groups: dict[str, list[str]] = defaultdict(list)
        for name, r in differing.items():
            groups[canon(r)].append(name)
        agreeing = [n for n, r in readings.items() if canon(r) == canon(mine)]

        def close(r):
            return difflib.SequenceMatcher(None, canon(mine), canon(r)).ratio() >= 0.5 or \
                skeleton(r) == skeleton(mine)

        # A. every other witness reads the same, against the base
        if len(groups) == 1 and not agreeing and len(readings) >= 2:
            (c, names), = groups.items()
            r = differing[names[0]]
            if close(r) and damaged(r, after) is None:
                return r, f"extraction slip ({', '.join(map(_short, names))} agree against the base)"
        clean = [(self.noise[n], n) for n in differing if damaged(differing[n], after) is None]
        if not clean:
            return None
        clean.sort()
        best_noise, best = clean[0]
        conflicting = [nz for nz, n in clean if canon(differing[n]) != canon(differing[best])]
        if conflicting and not all(best_noise <= nz / 2 for nz in conflicting):
            return None  # clean witnesses disagree, and none is clearly the cleanest
        r = differing[best]
        if not close(r):
            return None
        why = damaged(mine, after)
        # B. the base's reading is damaged on its face; a witness reads it cleanly
        if why:
            return r, f"extraction slip: {why} in the base; {_short(best)} reads it cleanly"
        # Q. quotation marks lost: the base's paragraph leaves a quotation open, and a witness
        # reads the same words with the closing mark
        if unbalanced and _without_quotes(r) == _without_quotes(mine) and _quote_count(r) > _quote_count(mine):
            return r, f"quotation mark lost in the base (its paragraph leaves a quotation open); {_short(best)} has it"
        # C. only characters OCR confuses differ; a witness at least as clean as the base
        # reads a (much) more common word
        if skeleton(r) == skeleton(mine) and self.noise[best] <= self.noise[self.base.name]:
            gain = _commonness(r) - _commonness(mine)
            if gain >= 1.0:
                seconded = f"; {', '.join(map(_short, agreeing))} read as the base" if agreeing else ""
                return r, (f"OCR confusion: {_short(best)} reads '{canon(r)}', a more common word "
                           f"(Zipf {gain:+.1f}){seconded}")
        return None

    def _restyle(self, new: str, mine: str) -> str:
        """The other witness's reading in the base's typography (curly or straight quotes)."""
        return smart_quotes(new) if self.curly else new

    # Emphasis -----------------------------------------------------------------------------

    def _emphasis(self, text: Text, others: dict[str, tuple[Text, Alignment]], edits: list, where: str):
        """Italics a PDF extraction lost, restored from a witness that kept them."""
        if "*" in text.text:
            return  # the base has emphasis of its own: it kept its formatting
        spans: dict[tuple[int, int], tuple[str, str, str]] = {}
        for name, (ot, al) in others.items():
            for m in _EMPHASIS.finditer(ot.text):
                inner = [k for k, t in enumerate(ot.toks) if t.end > m.start(1) and t.start < m.end(1)]
                if not inner:
                    continue
                first, last = inner[0], inner[-1]
                if first not in al.o2b or last not in al.o2b:
                    continue
                b0, b1 = al.o2b[first], al.o2b[last]
                if b1 - b0 != last - first:
                    continue
                star = m.start(1) - 1
                lead = ot.text[_word_start(ot.text, star):star]
                trail = _REF.sub("", ot.text[m.end(1) + 1:_word_end(ot.text, m.end(1))])
                spans.setdefault((b0, b1), (name, lead, trail))
        taken: set[int] = set()
        for (b0, b1), (name, lead, trail) in sorted(spans.items()):
            if any(i in taken for i in range(b0, b1 + 1)):
                continue
            first, last = text.toks[b0], text.toks[b1]
            head = _straight(text.shadow[first.start:first.end])
            tail = _straight(text.shadow[last.start:last.end])
            if lead and not head.startswith(_straight(lead)):
                continue
            if trail and not tail.endswith(_straight(trail)):
                continue
            s, e = first.start + len(lead), last.end - len(trail)
            if e <= s or "\n\n" in text.text[s:e]:
                continue
            taken.update(range(b0, b1 + 1))
            edits.append((s, s, "*"))
            edits.append((e, e, "*"))
            self.report.counts["italics_restored"] += 1
            self.report.repairs.append(f"{where}: italics as {_short(name)} has them: "
                                       f"'{_context(text.shadow, s, e)}' → "
                                       f"'{_context(text.shadow, s, e, '*' + text.shadow[s:e] + '*')}'")

    # Output --------------------------------------------------------------------------------

    def _render(self) -> str:
        main = _apply(self.base.main.text, self.edits)
        notes = {label: _apply(t.text, self.note_edits.get(label, [])) for label, t in self.base.notes.items()}
        notes.update(self.added)
        order = []
        for m in _REF.finditer(main):
            if m.group(1) not in order:
                order.append(m.group(1))
        leftovers = []
        for label in list(notes):
            if label in order:
                continue
            if label in self.base.unplaced:  # still nowhere to put it: as the importer left it
                leftovers.append(f"{self.base.unplaced[label]}\n\n{notes.pop(label)}")
            else:
                self.report.doubt(None, f"note {label} has no reference in the merged text")
        # Numbered notes get their numbers in reading order, as the book prints them;
        # labels of another series (s1, s2… for a translator's notes) are kept.
        numbered = [l for l in order if l.isdigit() or l.startswith("unplaced-")]
        new = {old: str(k + 1) for k, old in enumerate(numbered)}
        changed = {k: v for k, v in new.items() if k != v and not k.startswith("unplaced-")}
        if changed:
            self.report.repairs.append("labels: notes renumbered in reading order: " + ", ".join(
                f"{k}→{v}" for k, v in changed.items()))
        main = _REF.sub(lambda m: f"[^{new.get(m.group(1), m.group(1))}]", main)
        counts = Counter(m.group(1) for m in _REF.finditer(main))
        self.report.counts["notes"] = len(notes)
        self.report.counts["notes_anchored_once"] = sum(1 for v in counts.values() if v == 1)
        defs = []
        for old in order + [l for l in notes if l not in order]:
            text = notes[old].replace("\n\n", "\n\n    ").replace("\n", "\n    ")
            defs.append(f"[^{new.get(old, old)}]: {text}")
        out = main.rstrip()
        if leftovers:
            out += "\n\n" + "\n\n".join(leftovers)
        return out + "\n\n" + "\n\n".join(defs) + "\n"
