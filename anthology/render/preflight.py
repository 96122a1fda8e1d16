"""Preflight: the checks a print shop's software makes, run on every PDF we write.

A PDF that fails is never moved into place, so a failed preflight keeps the
previous good book. The checks read the PDF itself (with pikepdf), not our HTML.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..messages import AnthologyError, Diagnostic

FONTS = Path(__file__).resolve().parent.parent.parent / "styles" / "fonts"
VENDORED_FACES = ("EBGaramond", "EB Garamond", "EBGaramond12", "EBGaramond08")
RGB_OPERATORS = re.compile(rb"(?<![\w.])(?:[-\d.]+\s+){3}(rg|RG)\b")
RGB_WORD = re.compile(rb"(?<![\w.])(?:rg|RG)(?![\w.])")
FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")


@dataclass
class PreflightReport:
    problems: list[str] = field(default_factory=list)
    fonts: set[str] = field(default_factory=set)

    def fail(self, message: str) -> None:
        self.problems.append(message)


def _values(dictionary) -> list:
    return list(dictionary.values()) if dictionary is not None else []


def _font_descriptors(font) -> list:
    if "/DescendantFonts" in font:
        return [descendant.get("/FontDescriptor") for descendant in font.DescendantFonts]
    return [font.get("/FontDescriptor")]


def _check_fonts(resources, number: int, report: PreflightReport) -> None:
    for font in _values(resources.get("/Font")):
        face = str(font.get("/BaseFont", "")).lstrip("/").split("+", 1)[-1]
        report.fonts.add(face)
        if not any(face.replace("-", "").startswith(v.replace(" ", "")) for v in VENDORED_FACES):
            report.fail(f"page {number}: font '{face}' is not one of the vendored faces "
                        "(a glyph is missing from EB Garamond, or a style asks for another font)")
        for descriptor in _font_descriptors(font):
            if descriptor is None or not any(key in descriptor for key in FONT_FILES):
                report.fail(f"page {number}: font '{face}' is not embedded")


def _contents(page) -> bytes:
    import pikepdf

    contents = page.obj.get("/Contents")
    if contents is None:
        return b""
    streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    return b"\n".join(stream.read_bytes() for stream in streams)


def _check_colour_and_transparency(page, resources, number: int, report: PreflightReport) -> None:
    group = page.obj.get("/Group")
    if group is not None and group.get("/S") == "/Transparency":
        report.fail(f"page {number}: uses a transparency group")
    for state in _values(resources.get("/ExtGState")):
        soft_mask = state.get("/SMask")
        if float(state.get("/CA", 1)) < 1 or float(state.get("/ca", 1)) < 1 \
                or soft_mask is not None and str(soft_mask) != "/None":
            report.fail(f"page {number}: uses transparency")
    for space in _values(resources.get("/ColorSpace")):
        if "RGB" in _colour_space_name(space):
            report.fail(f"page {number}: uses an RGB colour space")
    if _paints_in_rgb(_contents(page)):
        report.fail(f"page {number}: paints in DeviceRGB")


def _paints_in_rgb(data: bytes) -> bool:
    """An `rg` or `RG` operator after three numbers (looked for near each such word only: the
    whole pattern over a long content stream is slow)."""
    if b"rg" not in data and b"RG" not in data:
        return False
    return any(RGB_OPERATORS.search(data, max(0, m.start() - 80), m.end()) for m in RGB_WORD.finditer(data))


def _colour_space_name(space) -> str:
    """Every family a colour space names (`/DeviceRGB`, `/ICCBased`…), with the base and
    alternate spaces of Indexed, Separation, DeviceN and Pattern spaces, and "RGB" for an ICC
    profile of three components; the profiles themselves are not read."""
    import pikepdf

    if isinstance(space, pikepdf.Name):
        return str(space)
    if isinstance(space, pikepdf.Array):
        return " ".join(_colour_space_name(item) for item in space)
    if isinstance(space, (pikepdf.Dictionary, pikepdf.Stream)) and "/N" in space:  # an ICC profile
        alternate = space.get("/Alternate")
        return " ".join(["RGB" if int(space.N) == 3 else "", _colour_space_name(alternate) if alternate else ""])
    return ""


def _check_press(pdf, output: dict, report: PreflightReport) -> None:
    intents = list(pdf.Root.get("/OutputIntents", []))
    if not any(i.get("/S") == "/GTS_PDFX" and "/DestOutputProfile" in i for i in intents):
        report.fail("no PDF/X output intent with a destination profile")
    elif int(intents[0].DestOutputProfile.get("/N", 0)) != 4:
        report.fail("the output intent's profile is not CMYK")
    metadata = pdf.Root.get("/Metadata")
    if metadata is None or b"PDF/X-4" not in metadata.read_bytes():
        report.fail("the XMP metadata does not declare PDF/X-4")
    for number, page in enumerate(pdf.pages, 1):
        if "/TrimBox" not in page.obj:
            report.fail(f"page {number}: no TrimBox")
        if output["pdf"]["bleed"] and "/BleedBox" not in page.obj:
            report.fail(f"page {number}: no BleedBox")
        _check_colour_and_transparency(page, page.obj.get("/Resources") or {}, number, report)


def inspect(path, output: dict) -> PreflightReport:
    """The problems of the PDF at `path` (or in a binary stream)."""
    import pikepdf

    report = PreflightReport()
    with pikepdf.open(path) as pdf:
        names = pdf.Root.get("/Names")
        if names is not None and "/EmbeddedFiles" in names:
            report.fail("the PDF carries embedded files")
        for number, page in enumerate(pdf.pages, 1):
            _check_fonts(page.obj.get("/Resources") or {}, number, report)
        if output["pdf"]["profile"] == "press":
            _check_press(pdf, output, report)
    return report


def check(path: Path, output: dict) -> PreflightReport:
    """Raise an AnthologyError (P001) listing every problem the PDF has."""
    report = inspect(path, output)
    if report.problems:
        raise refusal(report.problems)
    return report


def refusal(problems: list[str]) -> AnthologyError:
    return AnthologyError([Diagnostic("P001", problem, "build") for problem in problems])
