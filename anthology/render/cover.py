"""The EPUB's cover image: the editors' own, checked, or one drawn from the manifest.

The drawn cover is 1600 × 2560 px (the proportions the retailers ask for), set
in the vendored EB Garamond, and byte-for-byte the same for the same manifest.
"""
from __future__ import annotations

import io
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

from ..messages import error
from . import html as pages

WIDTH, HEIGHT = 1600, 2560
MIN_WIDTH, MAX_PIXELS = 1400, 10_000_000  # the retailers' floor; a ceiling well above 1600 × 2560
RATIO, RATIO_TOLERANCE = HEIGHT / WIDTH, 0.05
DEFAULT_COLORS = ("#20283a", "#f3ede2")  # background, text
FONTS = Path(__file__).resolve().parent.parent.parent / "styles" / "fonts"
MARGIN = 170
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Cover:
    data: bytes
    media_type: str
    file_name: str       # inside the EPUB, e.g. images/cover.jpg
    alt: str


def cover_alt(book) -> str:
    """The cover's text alternative: what it shows, in words."""
    m = book.meta
    title = m["title"] + (f": {m['subtitle']}" if m.get("subtitle") else "")
    editors = pages.editors_line(book)
    return f"Cover: {title}." + (f" {editors}." if editors else "")


def make_cover(book) -> Cover:
    epub = book.manifest.output.get("epub") or {}
    if epub.get("cover-image"):
        return _editors_cover(book, Path(epub["cover-image"]))
    data = draw_cover(book.meta, _colors(book, epub.get("cover-colors")))
    return Cover(data, "image/jpeg", "images/cover.jpg", cover_alt(book))


def start_cover(book) -> Future:
    """The cover, made in a thread (`.result()` gives it, or raises what `make_cover` raised):
    the build draws it while its process waits for the print edition's layout."""
    executor = ThreadPoolExecutor(1, thread_name_prefix="cover")
    future = executor.submit(make_cover, book)
    executor.shutdown(wait=False)
    return future


def _where(book) -> str:
    return book.manifest.file.name


def _colors(book, colors) -> tuple[str, str]:
    if not colors:
        return DEFAULT_COLORS
    if len(colors) != 2 or not all(isinstance(c, str) and _COLOR.match(c) for c in colors):
        raise error("E004", f"output.epub.cover-colors is {colors!r}; it needs two colours like '#20283a'",
                    _where(book))
    return colors[0], colors[1]


def _editors_cover(book, path: Path) -> Cover:
    name = path.name
    try:
        with Image.open(path) as img:  # reads the header only: the size is checked before decoding
            fmt, mode, (w, h) = img.format, img.mode, img.size
            if fmt in ("JPEG", "PNG") and MIN_WIDTH <= w and w * h <= MAX_PIXELS:
                img.load()
                rgb = img.convert("RGB") if mode not in ("RGB", "L") else None
    except Exception as exc:  # Pillow raises many kinds for a broken or foreign file
        raise error("E001", f"cover image '{name}' cannot be read as an image ({exc})", _where(book)) from None
    if fmt not in ("JPEG", "PNG"):
        raise error("E001", f"cover image '{name}' is {fmt}, not JPEG or PNG", _where(book))
    if w < MIN_WIDTH or w * h > MAX_PIXELS:
        raise error("E002", f"cover image '{name}' is {w} × {h} px; it must be at least {MIN_WIDTH} px wide "
                    f"and at most {MAX_PIXELS // 1_000_000} million pixels", _where(book))
    if abs(h / w - RATIO) > RATIO_TOLERANCE:
        raise error("E003", f"cover image '{name}' is {w} × {h} px, proportions 1:{h / w:.2f}; "
                    f"a cover must be 1:{RATIO:.1f} (e.g. {WIDTH} × {HEIGHT} px)", _where(book))
    if fmt == "JPEG" and rgb is None:
        return Cover(path.read_bytes(), "image/jpeg", "images/cover.jpg", cover_alt(book))
    if fmt == "PNG" and rgb is None:
        return Cover(path.read_bytes(), "image/png", "images/cover.png", cover_alt(book))
    return Cover(_jpeg(rgb), "image/jpeg", "images/cover.jpg", cover_alt(book))  # CMYK, palette, alpha


def _jpeg(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, optimize=False, progressive=False, subsampling="4:2:0")
    return out.getvalue()


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    layout = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(FONTS / name), size, layout_engine=layout)


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Break `text` into as few lines as fit `width`, then even them out (no short last line)."""
    words = text.split()
    if not words:
        return []

    def greedy(limit: float) -> list[str]:
        lines, line = [], words[0]
        for word in words[1:]:
            if font.getlength(f"{line} {word}") <= limit:
                line = f"{line} {word}"
            else:
                lines.append(line)
                line = word
        return lines + [line]

    lines = greedy(width)
    low, high = max(font.getlength(w) for w in words), float(width)
    while high - low > 2:  # the narrowest measure that still gives the same number of lines
        mid = (low + high) / 2
        if len(greedy(mid)) <= len(lines):
            high = mid
        else:
            low = mid
    return greedy(high)


def curly(text: str) -> str:
    """Typewriter quotes as typeset ones: ' and " open after a space or at the start, close elsewhere."""
    text = re.sub(r"(^|[\s(\[])'", "\\1\u2018", text)
    text = re.sub(r'(^|[\s(\[])"', "\\1\u201c", text)
    return text.replace("'", "\u2019").replace('"', "\u201d")


def _fit(text: str, name: str, size: int, width: int, max_lines: int):
    """(font, lines) at the largest size down from `size` that needs at most `max_lines` lines."""
    text = curly(text)
    while True:
        font = _font(name, size)
        lines = wrap(text, font, width)
        fits = all(font.getlength(line) <= width for line in lines)
        if (len(lines) <= max_lines and fits) or size <= 40:
            return font, lines
        size = int(size * 0.9)


def _draw_lines(draw, lines, font, y: float, fill, leading: float) -> float:
    for line in lines:
        draw.text((WIDTH / 2, y), line, font=font, fill=fill, anchor="ma")
        y += font.size * leading
    return y


def draw_cover(meta: dict, colors: tuple[str, str]) -> bytes:
    """The cover as JPEG bytes: title, subtitle, rule, editors, publisher."""
    background, ink = colors
    img = Image.new("RGB", (WIDTH, HEIGHT), background)
    draw = ImageDraw.Draw(img)
    measure = WIDTH - 2 * MARGIN
    draw.rectangle((MARGIN // 2, MARGIN // 2, WIDTH - MARGIN // 2, HEIGHT - MARGIN // 2), outline=ink, width=4)

    title_font, title = _fit(meta["title"], "EBGaramond12-Regular.otf", 150, measure, 5)
    y = _draw_lines(draw, title, title_font, 520, ink, 1.12)
    if meta.get("subtitle"):
        sub_font, sub = _fit(meta["subtitle"], "EBGaramond12-Italic.otf", 76, measure, 4)
        y = _draw_lines(draw, sub, sub_font, y + 70, ink, 1.25)
    rule_y = y + 90
    draw.line((WIDTH / 2 - 120, rule_y, WIDTH / 2 + 120, rule_y), fill=ink, width=4)

    editors = meta.get("editors") or []
    if editors:
        names = editors[0] if len(editors) == 1 else ", ".join(editors[:-1]) + " and " + editors[-1]
        ed_font, ed = _fit(f"Edited by {names}", "EBGaramond12-Regular.otf", 68, measure, 3)
        _draw_lines(draw, ed, ed_font, HEIGHT - 560 - len(ed) * ed_font.size * 1.25, ink, 1.25)
    if meta.get("publisher"):
        pub_font, pub = _fit(meta["publisher"], "EBGaramond12-Italic.otf", 56, measure, 2)
        _draw_lines(draw, pub, pub_font, HEIGHT - 300, ink, 1.2)
    return _jpeg(img)
