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
    _GUESS_COMMENT,
    _MARKER_DEBRIS,
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
from .words import zipf


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


class _Merger:
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

    # Note markers --------------------------------------------------------------------------

    def _markers(self, matches: dict[str, dict[str, str]]) -> None:
        base = self.base
        btext = base.main
        base_refs: dict[str, list[int]] = defaultdict(list)
        for label, t in base.refs:
            base_refs[label].append(t)
        for label in base.notes:
            votes: Counter = Counter()
            sources: dict[int, list[str]] = defaultdict(list)
            for t in base_refs.get(label, []):
                votes[t] += 0.25 if label in base.guessed else 1.0
                sources[t].append(base.short)
            for o in self.others:
                ol = matches.get(label, {}).get(o.name)
                if ol is None:
                    continue
                al = self.align[o.name]
                for l2, ot in o.refs:
                    if l2 != ol:
                        continue
                    bt = self._map(ot, al, o)
                    if bt is None:
                        self.report.doubt(None, f"note {label}: {o.short}'s marker after "
                                                f"'{_clip(o.main.span(max(0, ot - 4), ot + 1), 40)}' "
                                                "has no counterpart in the base")
                        continue
                    votes[bt] += 0.25 if ol in o.guessed else 1.0
                    sources[bt].append(o.short)
            if not votes:
                self.report.doubt(None, f"note {label} is anchored by no witness")
                continue
            mine = base_refs.get(label, [])
            best_t, best_v = max(votes.items(), key=lambda kv: (kv[1], kv[0] in mine))
            others_there = [w for w in sources[best_t] if w != base.short]
            rivals = [t for t, v in votes.items() if t != best_t and v == best_v]
            if rivals:
                self.report.doubt(None, f"note {label}: the witnesses disagree on where its marker goes "
                                        f"(after '{_clip(btext.span(max(0, best_t - 3), best_t + 1), 40)}' or "
                                        f"after '{_clip(btext.span(max(0, rivals[0] - 3), rivals[0] + 1), 40)}'); "
                                        "the base's place is kept")
            if mine == [best_t] and (label not in base.guessed or not others_there):
                continue  # the base's own marker, or a guess nobody contradicts
            if mine == [best_t]:
                self._confirm_guess(label, best_t, others_there)
                continue
            if mine:
                self._remove_ref(label)
            self._insert_ref(label, best_t, others_there or sources[best_t], had=mine,
                             fresh=not mine or label in base.guessed)

    def _stray_notes(self) -> dict[tuple[str, str], str]:
        """Notes the base's importer left in the running text as a paragraph of their own.

        A paragraph only the base has, which reads as the definition of a note another
        witness has and the base lacks, is that note: it leaves the text flow.
        """
        found: dict[tuple[str, str], str] = {}
        covered = set()
        for o in self.others:
            covered |= self.align[o.name].covered_b
        text = self.base.main
        for lo, hi in _gaps(covered, len(text.toks), minimum=3):
            start, end = text.toks[lo].start, text.toks[hi - 1].end
            p0 = text.text.rfind("\n\n", 0, start)
            p0 = 0 if p0 < 0 else p0 + 2
            p1 = text.text.find("\n\n", end)
            p1 = len(text.text) if p1 < 0 else p1
            inside = [k for k, t in enumerate(text.toks) if p0 <= t.start < p1]
            if not inside or inside[0] < lo or inside[-1] >= hi or "[^" in text.text[p0:p1]:
                continue
            words = text.norms[inside[0]:inside[-1] + 1]
            for o, ol in self.missing:
                target = o.notes[ol].norms
                # the note's own (garbled) marker may lead the paragraph
                ratio, skip = max((difflib.SequenceMatcher(None, words[k:], target).ratio(), k)
                                  for k in (0, 1) if len(words) > k)
                if ratio >= 0.6:
                    first = text.toks[inside[0] + skip].start
                    found[o.name, ol] = text.text[first:p1].strip()
                    self.edits.append((p0, min(len(text.text), p1 + 2), ""))
                    self.stray_spans.update(range(inside[0], inside[-1] + 1))
                    self.report.repairs.append(
                        f"text: a paragraph that is note {ol} of {o.short}, left in the text flow by the base's "
                        f"importer, moved into the notes: '{_clip(text.text[p0:p1], 50)}' → ''")
                    break
        return found

    def _missing_notes(self) -> None:
        """Notes another witness has and the base lost altogether (definition and marker)."""
        stray = self._stray_notes()
        seen: list[Text] = []
        numeric = [int(l) for l in self.base.notes if l.isdigit()]
        next_label = max(numeric, default=0) + 1
        for o, ol in self.missing:
            note = o.notes[ol]
            if ol in o.unplaced or any(difflib.SequenceMatcher(None, note.norms, t.norms).ratio() >= NOTE_MATCH
                                       for t in seen):
                continue
            twin = next((bl for bl, bt in self.base.notes.items()
                         if difflib.SequenceMatcher(None, note.norms, bt.norms).ratio() >= 0.8), None)
            if twin is not None:  # a second copy of a note the base has: the other's import is at fault
                self.report.doubt(None, f"{o.short} has note {ol} twice or split ('{_clip(note.text)}'); the "
                                        f"base's note {twin} is kept")
                continue
            seen.append(note)
            spots = [self._map(ot, self.align[o.name], o) for l2, ot in o.refs if l2 == ol]
            spots = [t for t in spots if t is not None]
            if not spots:
                self.report.doubt(None, f"note {ol} of {o.short} ('{_clip(note.text)}') is not in the base, "
                                        "and its place cannot be found there")
                continue
            label = str(next_label)
            next_label += 1
            self.added[label] = stray.get((o.name, ol)) or self._restyle(note.text, note.text)
            self._insert_ref(label, spots[0], [o.short], had=[], fresh=True, what="added from " + o.short)

    def _map(self, ot: int, al: Alignment, o: Witness) -> int | None:
        """The base token matching the other witness's token `ot` (the word before a marker)."""
        if ot in al.o2b:
            return al.o2b[ot]
        for b0, b1, o0, o1 in al.pieces:
            if o0 <= ot < o1 and b1 > b0:
                return b1 - 1
        # A word the two read differently: between neighbours that line up on both sides.
        for left in (1, 2):
            for right in (1, 2):
                a, b = al.o2b.get(ot - left), al.o2b.get(ot + right)
                if a is not None and b is not None and b - a == left + right:
                    return a + left
        return None

    def _remove_ref(self, label: str) -> None:
        text = self.base.main.text
        for m in re.finditer(re.escape(f"[^{label}]") + r"(?:" + _GUESS_COMMENT.pattern + r")?", text):
            self.edits.append((m.start(), m.end(), ""))

    def _confirm_guess(self, label: str, t: int, who: list[str]) -> None:
        """The base's guessed place is where the other witnesses have the marker too."""
        btext = self.base.main
        text = btext.text
        for m in re.finditer(re.escape(f"[^{label}]") + "(" + _GUESS_COMMENT.pattern + ")", text):
            self.edits.append((m.start(1), m.end(1), ""))
        tok = btext.toks[t]
        surface = btext.shadow[tok.start:tok.end]
        debris = self._debris(t, surface, who)
        if debris:
            self.edits.append((tok.end - len(debris), tok.end, ""))
        extra = f"; the garbled marker '{debris}' left before it removed" if debris else ""
        self.report.repairs.append(
            f"note {label}: the base's guessed place is confirmed by {', '.join(who)}{extra}: "
            f"'{_context(btext.shadow, tok.start, tok.end)}' → "
            f"'{_context(btext.shadow, tok.start, tok.end, surface[:len(surface) - len(debris)] + f'[^{label}]')}'")
        self.report.counts["guessed_markers_confirmed"] += 1
        self.resolved.add(label)

    def _insert_ref(self, label: str, t: int, who: list[str], had: list[int], fresh: bool = True,
                    what: str | None = None) -> None:
        btext = self.base.main
        tok = btext.toks[t]
        surface = btext.shadow[tok.start:tok.end]
        debris = self._debris(t, surface, who) if fresh else ""
        # Fold the marker into a pending word edit of this word, if any.
        for k, (s, e, new) in enumerate(self.edits):
            if s <= tok.start and e == tok.end and s < e:
                if debris and _straight(new).endswith(_straight(debris)):
                    new = new[:len(new) - len(debris)]
                self.edits[k] = (s, e, new + f"[^{label}]")
                break
        else:
            self.edits.append((tok.end - len(debris), tok.end, f"[^{label}]"))
        before = _context(btext.shadow, tok.start, tok.end)
        after = _context(btext.shadow, tok.start, tok.end, surface[:len(surface) - len(debris)] + f"[^{label}]")
        guessed = label in self.base.guessed
        if what is None:
            what = "moved" if had and not guessed else "restored"
        if label in self.base.unplaced:
            what = "placed (the base's importer could not place this note)"
        extra = f", the garbled marker '{debris}' removed" if debris else ""
        if had:
            where = btext.toks[had[0]]
            extra += (f"; the base's {'guess' if guessed else 'marker'} after "
                      f"'{_context(btext.shadow, where.start, where.end, width=0)}' removed")
        self.report.repairs.append(f"note {label}: marker {what} where {', '.join(who)} anchor it{extra}: "
                                   f"'{before}' → '{after}'")
        self.report.counts["markers_" + what.split()[0]] += 1
        self.resolved.add(label)

    def _debris(self, t: int, surface: str, who: list[str]) -> str:
        """What a garbled marker left after the base's word, judged by the witnesses anchoring it."""
        word = surface.rstrip("".join(_MARKER_DEBRIS) + ".,;:)]”")
        tail = surface[len(word):]
        if not tail:
            return ""
        tails = []
        for o in self.others:
            al = self.align[o.name]
            if o.short in who and t in al.b2o:
                ot = o.main.toks[al.b2o[t]]
                s = o.main.shadow[ot.start:ot.end]
                tails.append(_straight(s[len(s.rstrip("".join(_MARKER_DEBRIS) + ".,;:)]”")):]))
        if not tails:
            return ""
        expected = Counter(tails).most_common(1)[0][0]
        mine = _straight(tail)
        if mine.startswith(expected) and len(mine) > len(expected):
            extra = tail[len(expected):]
            if all(c in _MARKER_DEBRIS for c in extra):
                return extra
        return ""

    # Coverage ------------------------------------------------------------------------------

    def _coverage(self) -> None:
        base_n = len(self.base.main.toks)
        covered = set()
        for o in self.others:
            al = self.align[o.name]
            covered |= al.covered_b
            for lo, hi in _gaps(al.covered_o, len(o.main.toks), minimum=8):
                self.report.doubt(None, f"{o.short} has text the base lacks: '{_clip(o.main.span(lo, hi))}'")
                self.report.counts["passages_missing_in_base"] += 1
        for lo, hi in _gaps(covered | self.stray_spans, base_n, minimum=8):
            self.report.doubt(None, f"only the base has this text: '{_clip(self.base.main.span(lo, hi))}'")

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


# --- small helpers --------------------------------------------------------------------------

def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply (start, end, replacement) edits; an insertion inside a replaced span gives way."""
    spans = [(s, e) for s, e, _ in edits if e > s]
    edits = [x for x in edits if x[1] > x[0] or not any(s < x[0] < e for s, e in spans)]
    last = len(text) + 1
    for s, e, new in sorted(edits, key=lambda x: (x[0], x[1]), reverse=True):
        if e > last:
            continue  # overlapping replacements: the later one wins
        text = text[:s] + new + text[e:]
        last = s
    return text


def _word_start(text: str, pos: int) -> int:
    while pos > 0 and not text[pos - 1].isspace():
        pos -= 1
    return pos


def _word_end(text: str, pos: int) -> int:
    m = re.compile(r"\S*").match(text, pos)
    return m.end()


def _core(s: str) -> str:
    return s.strip("\"'“”‘’.,;:!?()[]*_…—")


def _commonness(s: str) -> float:
    return sum(zipf(w) for w in re.findall(r"[^\W_]+", canon(s)))


def _without_quotes(s: str) -> str:
    return re.sub(r"[\"'“”‘’]", "", canon(s))


def _quote_count(s: str) -> int:
    return len(re.findall(r"[\"'“”‘’]", s))


def _unbalanced(shadow: str, pos: int) -> bool:
    """Does the paragraph around `pos` open more quotations than it closes?"""
    lo = shadow.rfind("\n\n", 0, pos)
    hi = shadow.find("\n\n", pos)
    para = canon(shadow[lo + 1 if lo >= 0 else 0:hi if hi >= 0 else len(shadow)])
    double = para.count('"') % 2 == 1
    opens = len(re.findall(r"(?:^|(?<=[\s(\[—\"]))'(?=[^\W\d_])", para))
    closes = len(re.findall(r"(?<=[.,;:!?])'", para))
    return double or opens > closes


def smart_quotes(text: str) -> str:
    """Straight quotation marks and apostrophes made curly (“ ” ‘ ’), by their position."""
    out = []
    for i, ch in enumerate(text):
        prev = text[i - 1] if i else " "
        if ch == '"':
            out.append("“" if prev.isspace() or prev in "([—" else "”")
        elif ch == "'":
            nxt = text[i + 1] if i + 1 < len(text) else " "
            out.append("‘" if (prev.isspace() or prev in "([—“") and nxt.isalpha() else "’")
        else:
            out.append(ch)
    return "".join(out)


def _curly(text: str) -> bool:
    return text.count("”") + text.count("’") > text.count('"') + text.count("'")


def _straight(s: str) -> str:
    return s.translate(str.maketrans("’‘“”", "''\"\""))


def _gaps(covered: set[int], n: int, minimum: int):
    lo = None
    for i in range(n + 1):
        if i < n and i not in covered:
            lo = i if lo is None else lo
        elif lo is not None:
            if i - lo >= minimum:
                yield lo, i
            lo = None


def _context(shadow: str, s: int, e: int, replacement: str | None = None, width: int = 24) -> str:
    left = shadow[max(0, s - width):s]
    left = left[left.find(" ") + 1:] if " " in left and s - width > 0 else left
    right = shadow[e:e + width]
    right = right[:right.rfind(" ")] if " " in right and e + width < len(shadow) else right
    middle = shadow[s:e] if replacement is None else replacement
    return re.sub(r"\s+", " ", f"{left}{middle}{right}").replace(ZW, "*").strip()


def _clip(s: str, n: int = 70) -> str:
    s = re.sub(r"\s+", " ", s).strip()
    return s if len(s) <= n else s[:n - 1] + "…"


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1]
