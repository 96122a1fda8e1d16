"""Importing WeasyPrint in a quarter of a second less.

WeasyPrint opens Pango, HarfBuzz, GObject and Fontconfig through cffi, trying several names for
each (Windows', macOS' and Linux's). cffi hands every name it cannot open directly to
`ctypes.util.find_library`, which on Linux runs `ldconfig`, `gcc` and `ld` to search for it:
22 searches, about 0.2 s of a layout worker's start, before the name that opens (the Linux
soname, which WeasyPrint lists for each library) is reached. So on Linux the import is first
tried with that search answering "not found"; should a library open only through the search
(an unusual system), the import is made again the usual way.
"""
from __future__ import annotations

import contextlib
import io
import sys


def import_weasyprint() -> None:
    """Import WeasyPrint, skipping `find_library`'s searches where the sonames open directly."""
    if "weasyprint" not in sys.modules and sys.platform.startswith("linux"):
        _import_without_searching()
    import weasyprint  # noqa: F401


def _import_without_searching() -> None:
    import ctypes.util

    searching = ctypes.util.find_library
    ctypes.util.find_library = _not_found
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # WeasyPrint prints its advice before it raises
            import weasyprint  # noqa: F401
    except OSError:
        _forget("weasyprint")
    finally:
        ctypes.util.find_library = searching


def _not_found(name: str) -> None:
    return None


def _forget(package: str) -> None:
    for name in [name for name in sys.modules if name == package or name.startswith(package + ".")]:
        del sys.modules[name]
