"""The merge's note markers: notes matched across witnesses placed in the base where the
others anchor them, debris of garbled markers removed, lost notes taken from a witness,
and what only the base has reported (see witnesses.py, step 3)."""
from __future__ import annotations

import difflib
import re
from collections import Counter, defaultdict

from .witness_text import (
    _GUESS_COMMENT,
    _MARKER_DEBRIS,
    Alignment,
    NOTE_MATCH,
    Text,
    Witness,
)
from .witness_spans import _clip, _context, _gaps, _straight


class NoteMarkers:
    """The note-marker half of the merge; `_Merger` supplies the base, the others and the edits."""

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
