"""Images `![alt](path)`: they exist (G001) inside the book's folder (G002), are not too large
(G003), and have 300 ppi at the width they print (G004). Pillow reads the header only.

Paths are relative to the manifest's folder, as the renderers resolve them. An image prints at
the text block's width unless `{width=…}` (%, in, cm, mm) makes it smaller; the text block is the
trim width less the inner and outer margins of anthology/render/pdf.py (0.8in + 0.6in).
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path
from urllib.parse import unquote

from ..messages import Diagnostic
from ..schema import TRIM_SIZES
from .sources import BookSources

SIDE_MARGINS_IN = 0.8 + 0.6
MAX_PIXELS = 50_000_000
MAX_BYTES = 20_000_000
MIN_PPI = 300
UNITS_IN = {"in": 1.0, "cm": 1 / 2.54, "mm": 1 / 25.4, "pt": 1 / 72, "pc": 1 / 6}
VECTOR = {".svg", ".pdf", ".eps"}
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _inches(length: str) -> float:
    m = re.fullmatch(r"([\d.]+)(in|cm|mm|pt|pc)", length.strip())
    return float(m.group(1)) * UNITS_IN[m.group(2)]


def text_block_in(trim: str) -> float:
    """Width of the text block, in inches, for a trim size of the schema."""
    return _inches(TRIM_SIZES[trim][0]) - SIDE_MARGINS_IN


def print_width_in(attrs: str, block: float) -> float:
    m = re.search(r"\bwidth\s*=\s*\"?([\d.]+)\s*(%|in|cm|mm|pt|pc)?", attrs)
    if not m:
        return block
    value, unit = float(m.group(1)), m.group(2)
    if unit == "%":
        return min(block, block * value / 100)
    if unit in UNITS_IN:
        return min(block, value * UNITS_IN[unit])
    return block


def _header(path: Path) -> tuple[int, int] | str:
    """(width, height) in pixels from the file's header, or why it cannot be read."""
    from PIL import Image, UnidentifiedImageError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:  # reads the header; no load()
                return image.size
    except Image.DecompressionBombError as exc:
        m = re.search(r"\((\d+) pixels\)", str(exc))
        return "bomb:" + (m.group(1) if m else "")
    except UnidentifiedImageError:
        return "it is in no image format Pillow knows"
    except (OSError, ValueError) as exc:
        return str(exc).replace(str(path), "the file") or type(exc).__name__


def check(book: BookSources) -> list[Diagnostic]:
    problems = []
    block = text_block_in(book.trim)
    root = book.root.resolve()
    seen: dict[Path, tuple[int, int] | str] = {}
    for f in book.files:
        for image in f.doc.images:
            where = (f.name, image.line, image.col)
            src = image.value
            if src.startswith("data:"):
                continue
            if SCHEME.match(src):
                problems.append(Diagnostic("G002", f"image '{src}' is not a file in the book's folder", *where))
                continue
            rel = Path(unquote(src.split("#")[0].split("?")[0]))
            full = (book.root / rel)
            if rel.is_absolute() or not full.resolve().is_relative_to(root):
                problems.append(Diagnostic("G002", f"image '{src}' is outside the book's folder", *where))
                continue
            if not full.is_file():
                problems.append(Diagnostic("G001", f"image '{src}' does not exist", *where))
                continue
            size = full.stat().st_size
            if size > MAX_BYTES:
                problems.append(Diagnostic("G003", f"image '{src}' is {size / 1e6:.1f} MB (at most 20 MB)", *where))
                continue
            if full.suffix.lower() in VECTOR:
                continue
            key = full.resolve()
            if key not in seen:
                seen[key] = _header(full)
            header = seen[key]
            if isinstance(header, str):
                if header.startswith("bomb:"):
                    problems.append(Diagnostic("G003", f"image '{src}' has {header[5:] or 'too many'} pixels "
                                                       "(at most 50 megapixels)", *where))
                else:
                    problems.append(Diagnostic("G005", f"image '{src}' cannot be read: {header}", *where))
                continue
            width, height = header
            if width * height > MAX_PIXELS:
                problems.append(Diagnostic("G003", f"image '{src}' is {width} × {height} px = "
                                                   f"{width * height / 1e6:.1f} megapixels (at most 50)", *where))
                continue
            printed = print_width_in(image.attrs, block)
            ppi = width / printed
            if ppi < MIN_PPI:
                problems.append(Diagnostic(
                    "G004", f"image '{src}' is {width} px wide: {ppi:.0f} ppi at its print width of "
                            f"{printed:.2f} in ({book.trim}); print needs {MIN_PPI} ppi", *where,
                    f"Use an image at least {int(-(-MIN_PPI * printed // 1))} px wide, "
                    "or print it smaller with e.g. `{width=50%}`."))
    return problems
