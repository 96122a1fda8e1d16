"""Importers, one module a format; each registers itself with `@register`."""
from __future__ import annotations

import importlib
import pkgutil

from .base import REGISTRY, Doubt, ImportedText, Importer, ImportReport, register

_NOT_FORMATS = {"base", "words", "output", "corrections", "witnesses", "witness_text", "witness_notes",
                "witness_spans", "run", "pdf_notes", "pdf_markers", "pdf_lines", "pdf_detect",
                "plain_title"}

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name not in _NOT_FORMATS and not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")


def detect_format(text: str) -> tuple[str, str]:
    """The registered format that claims `text` most strongly, and its reason."""
    scored = sorted(((cls.detect(text), name) for name, cls in REGISTRY.items()), reverse=True)
    (score, reason), name = scored[0]
    return name, f"{reason} (score {score:.2f})"


__all__ = ["REGISTRY", "Doubt", "ImportedText", "Importer", "ImportReport", "register", "detect_format"]
