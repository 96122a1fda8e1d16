"""A layout worker's start and end: WeasyPrint imported without searching for its libraries,
and a worker that ends at once, its fonts let go."""
from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import textwrap
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

import helpers
from anthology.render import workers
from anthology.render.pdf import STYLES
from anthology.render.print_layout import tools_of

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LIBRARIES = ("gobject", "pango", "harfbuzz", "fontconfig", "pangoft2")


def _in_a_new_python(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _report() -> str:
    return f"""
        import weasyprint.text.ffi as ffi
        print(json.dumps({{"started": started, "loaded": [n for n in {LIBRARIES!r} if getattr(ffi, n, None)],
                           "tried": tried}}))
    """


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the short way is taken on Linux only")
def test_weasyprint_is_imported_without_starting_a_program():
    report = _in_a_new_python("""
        import json, subprocess
        started, tried = [], 0
        real = subprocess.Popen.__init__
        def counted(self, args, *rest, **kw):
            started.append(str(args))
            real(self, args, *rest, **kw)
        subprocess.Popen.__init__ = counted
        from anthology.render.weasy_import import import_weasyprint
        import_weasyprint()
    """ + _report())
    assert report["started"] == []  # no ldconfig, gcc or ld
    assert report["loaded"] == list(LIBRARIES)


def test_without_the_search_a_missing_library_is_searched_for_after_all():
    """Where a library opens only through find_library, the first import fails, and the second,
    made the usual way, succeeds. The failure is simulated once on the library's first load."""
    report = _in_a_new_python("""
        import json
        import cffi.api
        started, tried = [], 0
        real = cffi.api._load_backend_lib
        def only_searched(backend, name, flags):
            global tried
            if "pango-1.0" in str(name):
                tried += 1
                if tried == 1:
                    raise OSError(f"cannot load library {name!r}")
            return real(backend, name, flags)
        cffi.api._load_backend_lib = only_searched
        from anthology.render.weasy_import import import_weasyprint
        import_weasyprint()
        import weasyprint
        assert weasyprint.HTML
    """ + _report())
    assert report["loaded"] == list(LIBRARIES)
    assert report["tried"] >= 2  # once without the search, failing; then again


def test_a_worker_lets_its_fonts_go_when_it_ends(tmp_path):
    """A worker leaves without tearing WeasyPrint down, but only once its fonts' folder is deleted."""
    executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=workers._import_weasyprint)
    try:
        folder = Path(executor.submit(helpers.font_folder, tools_of(FIXTURES / "books" / "tiny", STYLES)).result())
        assert folder.is_dir() and any(folder.iterdir())  # the book's fonts, loaded
        process = next(iter(executor._processes.values()))
    finally:
        executor.shutdown(wait=True)
    assert process.exitcode == 0
    assert not folder.exists()
