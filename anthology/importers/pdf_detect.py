"""Whether a text reads as text extracted from a PDF: hard-wrapped lines, words hyphenated at
line ends, page breaks and note-like blocks for; long unwrapped lines and Markdown against
(the `pdf-text` importer's `detect`)."""
from __future__ import annotations

import re


def detect(text: str) -> tuple[float, str]:
    lines = text.replace("\r\n", "\n").split("\n")
    if re.match(r"^---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|$)", text, re.S):
        return 0.02, "starts with YAML front matter: Markdown, not a PDF extraction"
    nonblank = [l for l in lines if l.strip()]
    if not nonblank:
        return 0.0, "empty text"
    n = len(nonblank)
    long_share = sum(len(l) > 200 for l in nonblank) / n
    wrapped = sum(1 for a, b in zip(lines, lines[1:]) if a.strip() and b.strip()) / n
    hyphens = sum(1 for a, b in zip(lines, lines[1:])
                  if re.search(r"[^\W\d_]-$", a.rstrip()) and re.match(r"\s?[^\W\d_]", b) and b[:1] != b[:1].upper())
    breaks = len(re.findall(r"\S[ \t]*\n(?:[ \t]*\n){2,}[ \t]*\S", text)) + text.count("\f")
    note_lines = sum(1 for a, b in zip(lines, lines[1:])
                     if not a.strip() and re.match(r"^(?:\d{1,3}|[!?*®©@%†‡§¶°#])\s+[A-Z“\"]", b))
    markdown = sum(1 for l in nonblank if re.match(r"^(?:#{1,6}\s|\[\^[^\]]+\]:|>\s|:::)", l)) + \
        text.count('"wikilink")') + len(re.findall(r"\]\([^)\s]+\)", text))
    reasons, score = [], 0.0
    if long_share > 0.3:
        return 0.05, f"{long_share:.0%} of lines are longer than 200 characters: one paragraph a line"
    if wrapped > 0.5:
        score += 0.35
        reasons.append("hard-wrapped lines")
    if hyphens:
        score += min(0.3, 0.1 + 30 * hyphens / n)
        reasons.append(f"{hyphens} words hyphenated at line ends")
    if breaks:
        score += 0.1
        reasons.append(f"{breaks} page breaks (runs of blank lines)")
    if note_lines:
        score += min(0.2, 0.05 * note_lines)
        reasons.append(f"{note_lines} note-like blocks")
    if markdown:
        score -= min(0.6, 0.05 * markdown)
        reasons.append(f"{markdown} Markdown constructs")
    return max(0.0, min(0.95, score)), ", ".join(reasons) or "no sign of a PDF extraction"
