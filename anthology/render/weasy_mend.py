"""Mending a leak of WeasyPrint's that a long-lived layout worker feels.

WeasyPrint 67 to 70 gives each piece of text whose style asks for OpenType features (our
oldstyle and tabular figures, small capitals) a Pango attribute list that it never releases,
and puts into each list the same cached attribute, so that no list could be released without
freeing the others' attribute. A layout worker grew by about 1 MB for each 25-page chunk it
laid out: 25 to 30 MB each over a 1,000-page book.

The mend gives each list an attribute of its own (the cache is made to keep nothing: WeasyPrint
makes the attribute anyway, before it looks in its cache) and, once `Layout.setup` has set the
list on its Pango layout, drops the reference that `setup` kept, so that the list and its
attribute go with the layout. It is applied only where `setup` is the code that leaks (its
source is read), so a WeasyPrint that releases the list itself is left as it is: releasing it
twice would crash.
"""
from __future__ import annotations

import inspect
import logging
import re

log = logging.getLogger(__name__)

# The leaking lines of `Layout.setup`: the cached attribute, the list made without `ffi.gc`.
_LEAKING = re.compile(r"font_features\.setdefault\([^)]*\)\)\n\s*attr_list = pango\.pango_attr_list_new\(\)\n")


class _NothingKept(dict):
    """A cache that keeps nothing: each text's features get an attribute of their own."""

    def setdefault(self, key, default=None):
        return default


def mend_font_feature_leak() -> bool:
    """Mend `weasyprint.text.line_break.Layout.setup` if it leaks; whether it is (or was) mended."""
    from weasyprint.text import line_break

    layout = line_break.Layout
    if getattr(layout.setup, "mended", False):
        return True
    try:
        source = inspect.getsource(layout.setup)
    except (OSError, TypeError):
        source = ""
    if (not _LEAKING.search(source) or "def setup(self, style)" not in source
            or "pango_attr_list_unref" in source):  # one that releases its list, which the mend would again

        log.debug("WeasyPrint's Layout.setup is not the code whose leak anthology mends: left alone")
        return False
    layout.setup = _mended(layout.setup, line_break.ffi, line_break.pango)
    return True


def _mended(setup, ffi, pango):
    def mended_setup(self, style):
        config = style.font_config
        if type(config.font_features) is not _NothingKept:
            config.font_features = _NothingKept()
        setup(self, style)
        attributes = pango.pango_layout_get_attributes(self.layout)
        if attributes != ffi.NULL:  # the features' list, set on the layout, which holds it from now on
            pango.pango_attr_list_unref(attributes)

    mended_setup.mended = True
    return mended_setup
