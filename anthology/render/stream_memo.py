"""Large PDF streams compressed once per process, not once per chunk.

pydyf (WeasyPrint's PDF writer) compresses every stream at level 9 each time a PDF is written.
Every chunk of the print edition embeds the press's colour profile (430 kB, twice: as the
output intent and as the pages' colour space), which alone took a third of a chunk's writing.
A layout worker writes dozens of chunks, so it keeps the compressed bytes of large streams by
their digest. It also compresses them at zlib's level 6 rather than pydyf's 9: the profile then
takes 7 ms instead of 53 ms in each worker's first chunk, for 0.7 % more bytes. zlib is
deterministic, so the same stream always gives the same bytes.
"""
from __future__ import annotations

import hashlib
import types
import zlib

LARGE = 64 * 1024       # smaller streams (pages, font subsets) are rarely written twice
LARGE_LEVEL = 6         # zlib's level for them
KEEP = 16               # large streams remembered
_made: dict[tuple[int, bytes], bytes] = {}
_installed = False


class _Compressor:
    """What pydyf asks of `zlib.compressobj`: compress() then flush(), here in one go."""

    def __init__(self, level: int = -1, *args, **kwargs):
        self.level = level
        self.pieces: list[bytes] = []

    def compress(self, data: bytes) -> bytes:
        self.pieces.append(bytes(data))
        return b""

    def flush(self, *mode) -> bytes:
        data = b"".join(self.pieces)
        self.pieces = []
        if len(data) < LARGE:
            return zlib.compress(data, self.level)
        level = min(self.level, LARGE_LEVEL) if self.level >= 0 else LARGE_LEVEL
        key = (level, hashlib.blake2b(data, digest_size=20).digest())
        if key in _made:
            _made[key] = _made.pop(key)  # the most recently used is the last to go
        else:
            while len(_made) >= KEEP:
                _made.pop(next(iter(_made)))
            _made[key] = zlib.compress(data, level)
        return _made[key]


def remember_large_streams() -> None:
    """Install the memory in pydyf (once per process)."""
    global _installed
    if _installed:
        return
    import pydyf

    pydyf.zlib = types.SimpleNamespace(compress=zlib.compress, compressobj=_Compressor)
    _installed = True
