"""How the build cache keys its entries: a hash of everything an entry's content depends on."""
from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from html import unescape as html_unescape
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

PACKAGE = Path(__file__).resolve().parent
_RESOURCE = re.compile(r"""(?:\ssrc="([^"]+)"|url\(\s*['"]?([^'")]+)['"]?\s*\))""")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest(*parts) -> str:
    """The key of these parts: their canonical JSON, hashed."""
    return sha(json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode())


def file_digest(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return sha(Path(path).read_bytes())
    except OSError:
        return None


def tree_digest(root: Path, keep: Callable[[Path], bool] = lambda p: True) -> str:
    """One hash of every file under `root` (names and contents)."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and keep(p) and "__pycache__" not in p.parts)
    return digest([(str(p.relative_to(root)), file_digest(p)) for p in files])


@lru_cache(maxsize=1)
def code_digest() -> str:
    """One hash of the package's code as this process loaded it (read once: a long-lived `watch`
    keeps the keys of the code it runs, not of a newer copy on disk)."""
    return tree_digest(PACKAGE, lambda p: p.suffix == ".py")


def resource_digests(html: str, root: Path) -> list:
    """The files an HTML document shows (images), each with the hash of its content; a file
    outside the book's folder, or not a regular file, is not read (the layout refuses it)."""
    from . import limits
    from .fsutil import inside

    def content(name: str) -> str | None:
        if "://" in name or name.startswith("data:"):
            return name
        path = root / unquote(urlsplit(html_unescape(name)).path)  # the file the renderers open
        if not inside(path, root):
            return name
        try:
            return sha(limits.read_regular(path, limits.MAX_RESOURCE_BYTES))
        except (limits.TooLarge, limits.Unreadable):
            return None

    return [(r, content(r)) for r in sorted({m.group(1) or m.group(2) for m in _RESOURCE.finditer(html)})]
