"""Links across the EPUB's files.

The HTML fragments link within one print document (`href="#id"`); in the EPUB
each item is its own file, so a link whose target stands in another file gets
that file's name.
"""
from __future__ import annotations

import re

from ebooklib import epub

ID = re.compile(r'\bid="([^"]+)"')
HREF = re.compile(r'\bhref="#([^"]+)"')


def _content(item) -> str:
    content = item.content
    return content.decode("utf-8") if isinstance(content, bytes) else (content or "")


def link_across_files(eb: epub.EpubBook) -> None:
    documents = [i for i in eb.get_items() if isinstance(i, epub.EpubHtml) and not isinstance(i, epub.EpubNav)]
    owner: dict[str, str] = {}
    for item in documents:
        for anchor in ID.findall(_content(item)):
            owner.setdefault(anchor, item.file_name)
    for item in documents:
        own = set(ID.findall(_content(item)))

        def fix(m: re.Match) -> str:
            anchor = m.group(1)
            if anchor in own or anchor not in owner:
                return m.group(0)
            return f'href="{owner[anchor]}#{anchor}"'

        item.content = HREF.sub(fix, _content(item))
