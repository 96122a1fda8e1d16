"""What every importer shares: the result type, the report, and the registry.

An importer is a class with a `name`, a `detect(text) -> (score, reason)` and a
`convert(text, source_name) -> ImportedText`. Decorating it with `@register`
makes it available to `anthology import --format NAME` and to detection, so
adding a format is adding one module to this package.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar


@dataclass
class Doubt:
    """Something the importer guessed or could not decide, for the editor to check."""
    line: int | None  # 1-based line in the source, when known
    message: str
    source: str = ""


@dataclass
class ImportReport:
    source: str
    format: str
    detection: str = ""  # why this format was chosen, when detected
    counts: Counter = field(default_factory=Counter)
    doubts: list[Doubt] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)  # witness repairs, applied corrections

    def doubt(self, line: int | None, message: str) -> None:
        self.doubts.append(Doubt(line, message, self.source))

    def to_markdown(self) -> str:
        out = [f"# Import report: {self.source}", "", f"Format: {self.format}"]
        if self.detection:
            out.append(f"Detected because: {self.detection}")
        out += ["", "## Counts", ""]
        out += [f"- {name.replace('_', ' ')}: {n}" for name, n in sorted(self.counts.items())]
        if self.repairs:
            out += ["", "## Repairs", ""] + [f"- {r}" for r in self.repairs]
        out += ["", "## Doubts", ""]
        if not self.doubts:
            out.append("None.")
        for d in self.doubts:
            where = f"{d.source}:{d.line}" if d.line else d.source
            out.append(f"- {where}: {d.message}")
        return "\n".join(out) + "\n"


@dataclass
class ImportedText:
    """Clean Pandoc Markdown plus the front matter the source itself gave."""
    metadata: dict
    body: str
    report: ImportReport


class Importer:
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    @classmethod
    def detect(cls, text: str) -> tuple[float, str]:
        """How likely (0..1) `text` is in this format, and why."""
        raise NotImplementedError

    def convert(self, text: str, source_name: str) -> ImportedText:
        raise NotImplementedError


REGISTRY: dict[str, type[Importer]] = {}


def register(cls: type[Importer]) -> type[Importer]:
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    REGISTRY[cls.name] = cls
    return cls
