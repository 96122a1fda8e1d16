"""Shared helpers of the safety suite (tests/test_safety_*.py); no tests of its own.

- `good_book(tiny_book, tmp_path)`: a copy of the tiny fixture book *with* the outputs
  the session already built in its build/ (so every test can check they survive);
- `build_fails(...)`: runs `anthology build` through `anthology.cli.main` and checks the
  exit status, the exact `file:line:col: error CODE` line, that build/ holds the same
  bytes as before and that no temporary file is left;
- `listener`: a TCP listener on 127.0.0.1 that records every connection; hostile texts
  point at it, and it must never be called.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from anthology.cli import main
from anthology.fsutil import TEMP_PREFIX

TESTS = Path(__file__).resolve().parent
BAD = TESTS / "fixtures" / "bad"


@dataclass
class Book:
    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.yaml"

    @property
    def build(self) -> Path:
        return self.root / "build"

    def outputs(self) -> dict[str, bytes]:
        """Every file in build/ but the lock, by name."""
        if not self.build.is_dir():
            return {}
        return {p.name: p.read_bytes() for p in sorted(self.build.iterdir())
                if p.is_file() and p.name != ".anthology.lock" and not p.name.startswith(TEMP_PREFIX)}

    def leftovers(self) -> list[Path]:
        return sorted(self.build.rglob(TEMP_PREFIX + "*")) if self.build.is_dir() else []

    def text(self, name: str) -> str:
        return (self.root / name).read_text(encoding="utf-8")

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def replace(self, name: str, old: str, new: str) -> str:
        text = self.text(name)
        assert old in text, f"{old!r} not in {name}"
        self.write(name, text.replace(old, new, 1))
        return self.text(name)

    def add_text(self, name: str, body: str, front: str = "") -> str:
        """A text with complete front matter, added to the contents before `back: sources`."""
        self.write(name, "---\ntitle: An Added Text\nauthor: A. Writer\ndate: 2024\nrights: Public domain.\n"
                         f"retrieved-from: tests\n{front}---\n\n{body}")
        self.replace("manifest.yaml", "  - back: sources", f"  - text: {name}\n  - back: sources")
        return name

    def line_of(self, name: str, needle: str) -> tuple[int, int]:
        """1-based line and column of the first occurrence of `needle` in a file of the book."""
        for number, line in enumerate(self.text(name).split("\n"), 1):
            if needle in line:
                return number, line.index(needle) + 1
        raise AssertionError(f"{needle!r} not in {name}")


def copy_good_book(tiny_book, dest: Path) -> Book:
    """The tiny book with the good outputs of the session's build in its build/."""
    manifest, outputs = tiny_book
    shutil.copytree(manifest.parent, dest, symlinks=True)
    book = Book(dest)
    assert {f"tiny.{k}" for k in outputs} <= set(book.outputs()), "the session build left its outputs"
    return book


@pytest.fixture
def good_book(tiny_book, tmp_path) -> Book:
    return copy_good_book(tiny_book, tmp_path / "book")


def build_fails(book: Book, capsys, monkeypatch, code: str, where: str, *args: str) -> str:
    """Run `anthology build` from the book's folder; it must exit 1 naming `where: error CODE:`.

    `where` is `file`, `file:line` or `file:line:col` as the diagnostic prints it (what is left
    out may be anything). Returns stderr.
    """
    before = book.outputs()
    capsys.readouterr()
    monkeypatch.chdir(book.root)
    status = main(["build", "manifest.yaml", *args])
    err = capsys.readouterr().err
    assert status == 1, f"exit status {status}; stderr:\n{err}"
    assert re.search(re.escape(where) + r"(:\d+)*: error " + code + ": ", err), \
        f"expected '{where}: error {code}' in:\n{err}"
    assert "Hint: " in err
    assert "Traceback" not in err
    assert book.outputs() == before, "the outputs already in build/ were changed"
    assert book.leftovers() == [], f"temporary files left: {book.leftovers()}"
    return err


class Listener:
    """A loopback TCP server that counts connections (and answers nothing useful)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.hits: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(1)
            try:
                self.hits.append(conn.recv(2048) or b"(connected)")
                conn.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                self.hits.append(b"(connected)")
            finally:
                conn.close()

    def close(self):
        self.sock.close()


@pytest.fixture(scope="session")
def listener():
    server = Listener()
    yield server
    server.close()


def passwd_line() -> bytes | None:
    """The first line of /etc/passwd (what a leak would carry), if there is one."""
    try:
        first = Path("/etc/passwd").read_bytes().split(b"\n", 1)[0]
    except OSError:
        return None
    return first if len(first) > 8 else None


def fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path
