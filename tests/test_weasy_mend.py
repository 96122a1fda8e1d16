"""The mend of WeasyPrint's font-feature leak (render/weasy_mend.py): it stops the leak, leaves
the pages as they were, and leaves alone a WeasyPrint whose code does not leak."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from anthology.render.weasy_import import import_weasyprint
from anthology.render.weasy_mend import mend_font_feature_leak

# Lays out a page of figures in oldstyle numerals (an OpenType feature) again and again, in a
# process of its own, mended or not; prints what each layout left allocated in C and each page's
# drawing (its content stream), hashed.
LAYOUTS = r"""
import ctypes, gc, hashlib, io, json, sys
from anthology.render.weasy_import import import_weasyprint
import_weasyprint()
if sys.argv[1] == "mended":
    from anthology.render.weasy_mend import mend_font_feature_leak
    assert mend_font_feature_leak()
from pypdf import PdfReader
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

class MallInfo(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                     "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo
fonts = FontConfiguration()
css = CSS(string="body { font-variant-numeric: oldstyle-nums } p { margin: 0 }", font_config=fonts)
html = "".join(f"<p>Line {n} of the year 1917, page {n * 7}.</p>" for n in range(400))
document = HTML(string=html).render(stylesheets=[css], font_config=fonts)
pages = [hashlib.sha256(page.get_contents().get_data()).hexdigest()
         for page in PdfReader(io.BytesIO(document.write_pdf())).pages]
del document
gc.collect()
before = libc.mallinfo2().uordblks
for _ in range(5):
    HTML(string=html).render(stylesheets=[css], font_config=fonts)
    gc.collect()
print(json.dumps({"kept": (libc.mallinfo2().uordblks - before) / 5, "pages": pages}))
"""


def _layouts(mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", LAYOUTS, mode], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def plain_and_mended() -> tuple[dict, dict]:
    if not sys.platform.startswith("linux"):
        pytest.skip("measured with glibc's mallinfo2")
    return _layouts("plain"), _layouts("mended")


def test_the_installed_weasyprint_leaks_and_is_mended():
    import_weasyprint()
    assert mend_font_feature_leak() is True
    assert mend_font_feature_leak() is True  # once is enough


def test_the_mend_stops_the_leak(plain_and_mended):
    plain, mended = plain_and_mended
    assert plain["kept"] > 20_000, "the leak this mend is for is not there: is weasy_mend still needed?"
    assert mended["kept"] < plain["kept"] / 4


def test_the_mended_pages_are_drawn_alike(plain_and_mended):
    plain, mended = plain_and_mended
    assert len(plain["pages"]) > 5
    assert mended["pages"] == plain["pages"]


features = ffi = pango = None  # the names the stand-ins for WeasyPrint's `Layout.setup` below use


def _released_with_ffi_gc(self, style):  # a WeasyPrint that has the list released when unused
    attr = style.font_config.font_features.setdefault(
        features, pango.pango_attr_font_features_new(features))
    attr_list = ffi.gc(pango.pango_attr_list_new(), pango.pango_attr_list_unref)
    return attr, attr_list


def _released_after_use(self, style):  # one that keeps the lines that leak today and releases it after
    attr = style.font_config.font_features.setdefault(
        features, pango.pango_attr_font_features_new(features))
    attr_list = pango.pango_attr_list_new()
    pango.pango_attr_list_insert(attr_list, attr)
    pango.pango_layout_set_attributes(self.layout, attr_list)
    pango.pango_attr_list_unref(attr_list)


@pytest.mark.parametrize("setup", [_released_with_ffi_gc, _released_after_use])
def test_a_weasyprint_that_does_not_leak_is_left_alone(monkeypatch, setup):
    import_weasyprint()
    from weasyprint.text import line_break

    from anthology.render import weasy_mend

    monkeypatch.setattr(line_break.Layout, "setup", setup)
    assert weasy_mend.mend_font_feature_leak() is False
    assert line_break.Layout.setup is setup


def test_the_leaking_code_is_recognised(monkeypatch):
    import_weasyprint()
    from weasyprint.text import line_break

    from anthology.render import weasy_mend

    def setup(self, style):  # the lines of WeasyPrint 67 to 70
        attr = style.font_config.font_features.setdefault(
            features, pango.pango_attr_font_features_new(features))
        attr_list = pango.pango_attr_list_new()
        pango.pango_attr_list_insert(attr_list, attr)
        pango.pango_layout_set_attributes(self.layout, attr_list)

    monkeypatch.setattr(line_break.Layout, "setup", setup)
    assert weasy_mend.mend_font_feature_leak() is True
    assert line_break.Layout.setup.mended
