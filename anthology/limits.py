"""The limits a build keeps to, whatever its inputs hold: declared once, here.

Every check reads these names at the time it runs (``limits.MAX_TEXT_BYTES``, not a
copy taken at import), so a test or an embedding program may lower them.
The image limits are those `anthology check` applies (anthology/check/images.py,
G003); the URL fetcher of the print renderer applies them again to whatever
WeasyPrint asks for, so an image that escaped the check is still refused.
"""
from __future__ import annotations

import io
import os
import stat
import warnings
from pathlib import Path

# Markdown files named by the manifest (texts, front and back matter, headnotes).
MAX_TEXT_BYTES = 8_000_000
# Any other file the manifest names (bibliography, CSL style, index, cover image).
MAX_DATA_BYTES = 20_000_000
# Images: the same ceiling as anthology/check/images.py.
MAX_IMAGE_PIXELS = 50_000_000
MAX_IMAGE_BYTES = 20_000_000
# Anything else the print renderer loads (fonts, style sheets, the colour profile).
MAX_RESOURCE_BYTES = 40_000_000

# Pandoc: wall-clock seconds for one run, and the Haskell heap it may use.
PANDOC_TIMEOUT = 180.0
PANDOC_MEMORY = "1024m"
# Layout workers: at most this many (ANTHOLOGY_WORKERS overrides), and this long for one chunk.
MAX_LAYOUT_WORKERS = 8
CHUNK_TIMEOUT = 900.0

# YAML: nesting deeper than this is refused before PyYAML's recursive composer sees it.
MAX_YAML_DEPTH = 64

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".tif", ".tiff", ".bmp"}


def megabytes(size: int) -> str:
    """A size for a person: '8.0 MB', '4.0 KB'."""
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} KB"


def regular_file_problem(path: Path) -> str | None:
    """Why `path` cannot be read as a book's file (a pipe, a device, a folder), or None.

    Only stats the path (links followed), so that nothing is opened: opening a FIFO
    blocks, reading /dev/zero never ends.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    return _mode_problem(mode)


def _mode_problem(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    return "is not a regular file"


class Unreadable(ValueError):
    """The file does not exist, cannot be opened, or is not a regular file; str() says which."""


class TooLarge(ValueError):
    """The file is larger than the limit; str() says by how much."""


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    Raises Unreadable or TooLarge saying why not. The file is opened without blocking and
    checked on the open descriptor, so a FIFO or a device swapped in after an earlier
    check is refused too, and never more than `limit` + 1 bytes are read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise Unreadable("does not exist") from None
    except OSError as exc:
        raise Unreadable(f"cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(_mode_problem(info.st_mode) or "is not a regular file")
        if info.st_size > limit:
            raise TooLarge(f"is {megabytes(info.st_size)} (at most {megabytes(limit)})")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise TooLarge(f"is larger than {megabytes(limit)}")
        return data
    finally:
        os.close(fd)


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from an image's header, without decoding it; None if Pillow knows no such format."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                with Image.open(io.BytesIO(data)) as image:  # reads the header only: no load()
                    return image.size
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


def image_problem(data: bytes) -> str | None:
    """Why these bytes may not be laid out as an image (too many bytes or pixels), or None."""
    if len(data) > MAX_IMAGE_BYTES:
        return f"is {megabytes(len(data))} (at most {megabytes(MAX_IMAGE_BYTES)})"
    size = image_size(data)
    if size is not None and size[0] * size[1] > MAX_IMAGE_PIXELS:
        w, h = size
        return (f"is {w} × {h} px = {w * h / 1e6:.1f} megapixels "
                f"(at most {MAX_IMAGE_PIXELS // 1_000_000})")
    return None
