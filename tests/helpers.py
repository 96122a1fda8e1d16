"""Reading outputs by their content: PDF text per page, EPUB XHTML by XPath."""
from __future__ import annotations

import contextlib
import logging
import re
import zipfile
from functools import lru_cache

from lxml import etree
from pypdf import PdfReader

NS = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops",
      "opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}


@lru_cache(maxsize=None)
def pdf_pages(path: str) -> tuple[str, ...]:
    return tuple(page.extract_text() or "" for page in PdfReader(path).pages)


def squash(text: str) -> str:
    """Letters and digits only, lower case: immune to line breaks and hyphenation."""
    return re.sub(r"[\W_]+", "", text).lower()


def pages_containing(path: str, snippet: str) -> set[int]:
    key = squash(snippet)
    return {i for i, text in enumerate(pdf_pages(path)) if key in squash(text)}


def call_pages(path: str, before: str, number: str, window: int = 24) -> set[int]:
    """Pages printing a note's call: the `window` letters before it, then its number. When the
    call's line opens a page, those letters run over from the page before."""
    tail, number = squash(before)[-window:], squash(number)
    texts = [squash(text) for text in pdf_pages(path)]
    found = {i for i, text in enumerate(texts) if tail + number in text}
    if found:
        return found
    return {i for i, text in enumerate(texts) for cut in range(1, len(tail) - 5)
            if i and tail[cut:] + number in text and tail[:cut] in texts[i - 1]}


def epub_documents(path: str) -> dict[str, etree._Element]:
    """Every XHTML document of the EPUB, parsed, by its name in the zip."""
    docs = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith(".xhtml"):
                docs[name] = etree.fromstring(z.read(name))
    return docs


def epub_opf(path: str) -> etree._Element:
    with zipfile.ZipFile(path) as z:
        container = etree.fromstring(z.read("META-INF/container.xml"))
        opf_name = container.xpath("//*[local-name()='rootfile']/@full-path")[0]
        return etree.fromstring(z.read(opf_name))


def notes_with_context(path: str) -> list[tuple[str, str, str, str]]:
    """(file, number, text just before the call, note text) for every noteref in the EPUB."""
    out = []
    for name, doc in epub_documents(path).items():
        for ref in doc.xpath("//x:a[@epub:type='noteref']", namespaces=NS):
            target = ref.get("href").lstrip("#")
            aside = doc.xpath(f"//x:aside[@id='{target}']", namespaces=NS)
            para = ref.getparent()
            before = "".join(_text_before(para, ref))
            note = "".join(aside[0].itertext()) if aside else ""
            out.append((name, ref.text, before, note))
    return out


def _text_before(parent, stop):
    if parent.text:
        yield parent.text
    for child in parent:
        if child is stop:
            return
        if child.tag.endswith("aside"):
            continue
        yield from child.itertext()
        if child.tail:
            yield child.tail


@contextlib.contextmanager
def log_records(name: str):
    """Every record the logger `name` (and below) makes while the block runs, at any level."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    logger, handler = logging.getLogger(name), Keep(logging.DEBUG)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def chunks_laid_out(records, folios: bool = False) -> list[str]:
    """The print layout's chunks laid out (without the blocks of folios, unless asked)."""
    names = [r.getMessage().split(":")[0].removeprefix("laid out ") for r in records
             if getattr(r, "layout_event", None) == "chunk"]
    return [n for n in names if folios or not n.startswith("the folios")]


def font_folder(tools: dict) -> str:
    """In a layout worker: the folder where its font configuration for this book keeps the fonts."""
    from anthology.render import chunk_job

    fonts, _, _ = chunk_job.loaded_tools(tools)
    return str(fonts._folder)


def living_in_group(group: int) -> list[int]:
    """The processes of a process group still running (Linux's /proc), zombies left out."""
    from pathlib import Path

    living = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            living.append(int(stat.parent.name))
    return living
