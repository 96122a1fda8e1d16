"""Preflight: the checks a print shop's software makes, run on every PDF we write.

A PDF that fails is never moved into place, so a failed preflight keeps the
previous good book. The checks read the PDF itself (with pypdf), not our HTML.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pypdf import PdfReader
from pypdf.generic import IndirectObject

from ..messages import AnthologyError, Diagnostic

FONTS = Path(__file__).resolve().parent.parent.parent / "styles" / "fonts"
VENDORED_FACES = ("EBGaramond", "EB Garamond", "EBGaramond12", "EBGaramond08")
RGB_OPERATORS = re.compile(rb"(?<![\w.])(?:[-\d.]+\s+){3}(rg|RG)\b")


@dataclass
class PreflightReport:
    problems: list[str] = field(default_factory=list)
    fonts: set[str] = field(default_factory=set)

    def fail(self, message: str) -> None:
        self.problems.append(message)


def _resolve(obj):
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _font_descriptors(font) -> list:
    font = _resolve(font)
    if "/DescendantFonts" in font:
        return [_resolve(_resolve(d)).get("/FontDescriptor") for d in _resolve(font["/DescendantFonts"])]
    return [font.get("/FontDescriptor")]


def _check_fonts(page, number: int, report: PreflightReport) -> None:
    fonts = _resolve(_resolve(page.get("/Resources", {})).get("/Font", {}))
    for font in (fonts or {}).values():
        font = _resolve(font)
        name = str(font.get("/BaseFont", "")).lstrip("/")
        face = name.split("+", 1)[-1]
        report.fonts.add(face)
        if not any(face.replace("-", "").startswith(v.replace(" ", "")) for v in VENDORED_FACES):
            report.fail(f"page {number}: font '{face}' is not one of the vendored faces "
                        "(a glyph is missing from EB Garamond, or a style asks for another font)")
        for descriptor in _font_descriptors(font):
            descriptor = _resolve(descriptor) or {}
            if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                report.fail(f"page {number}: font '{face}' is not embedded")


def _check_colour_and_transparency(page, number: int, report: PreflightReport) -> None:
    if "/Group" in page and _resolve(page["/Group"]).get("/S") == "/Transparency":
        report.fail(f"page {number}: uses a transparency group")
    resources = _resolve(page.get("/Resources", {}))
    for state in (_resolve(resources.get("/ExtGState", {})) or {}).values():
        state = _resolve(state)
        if float(state.get("/CA", 1)) < 1 or float(state.get("/ca", 1)) < 1 or "/SMask" in state \
                and str(state["/SMask"]) != "/None":
            report.fail(f"page {number}: uses transparency")
    for space in (_resolve(resources.get("/ColorSpace", {})) or {}).values():
        if "RGB" in str(_resolve(space)):
            report.fail(f"page {number}: uses an RGB colour space")
    data = page.get_contents().get_data() if page.get_contents() else b""
    if RGB_OPERATORS.search(data):
        report.fail(f"page {number}: paints in DeviceRGB")


def _check_press(reader: PdfReader, output: dict, report: PreflightReport) -> None:
    root = reader.trailer["/Root"]
    intents = [_resolve(i) for i in _resolve(root.get("/OutputIntents", []))]
    if not any(i.get("/S") == "/GTS_PDFX" and "/DestOutputProfile" in i for i in intents):
        report.fail("no PDF/X output intent with a destination profile")
    else:
        profile = _resolve(intents[0]["/DestOutputProfile"])
        if int(profile.get("/N", 0)) != 4:
            report.fail("the output intent's profile is not CMYK")
    xmp = reader.xmp_metadata
    raw = xmp.stream.get_data() if xmp is not None else b""
    if b"PDF/X-4" not in raw:
        report.fail("the XMP metadata does not declare PDF/X-4")
    for number, page in enumerate(reader.pages, 1):
        if "/TrimBox" not in page:
            report.fail(f"page {number}: no TrimBox")
        if output["pdf"]["bleed"] and "/BleedBox" not in page:
            report.fail(f"page {number}: no BleedBox")
        _check_colour_and_transparency(page, number, report)


def inspect(path: Path, output: dict) -> PreflightReport:
    reader = PdfReader(str(path))
    report = PreflightReport()
    if reader.trailer["/Root"].get("/Names", {}).get("/EmbeddedFiles"):
        report.fail("the PDF carries embedded files")
    for number, page in enumerate(reader.pages, 1):
        _check_fonts(page, number, report)
    if output["pdf"]["profile"] == "press":
        _check_press(reader, output, report)
    return report


def check(path: Path, output: dict) -> PreflightReport:
    """Raise an AnthologyError (P001) listing every problem the PDF has."""
    report = inspect(path, output)
    if report.problems:
        raise AnthologyError([Diagnostic("P001", problem, "build") for problem in report.problems])
    return report
