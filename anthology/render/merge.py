"""One PDF from the chunks' PDFs (pikepdf): their pages in order with blank left-hand pages
between them, their folios stamped on, one table of named destinations, one outline, one copy
of the colour profile.

The first chunk's PDF is the base, so the book keeps its catalogue as WeasyPrint wrote it: the
PDF/X output intent, the XMP metadata, the document information. Links keep WeasyPrint's named
destinations (`/Dest (id)`); a link to another chunk was written as a URI (chunks.OUTSIDE_LINK)
and is given the named destination of its anchor, as one pass would have. Outline entries are
copied with their positions.
"""
from __future__ import annotations

import hashlib
import io
import warnings
from urllib.parse import unquote


def merged_pdf(layout, stable_uuid: bytes, output: dict) -> dict:
    """In a layout worker: the book's PDF, with stable identifiers, and preflight's problems
    with it ({"pdf", "problems"}), or what went wrong ({"error", …}, see pdf.failure_of)."""
    from .pdf import checked_pdf, failure_of

    try:
        return checked_pdf(merge(layout, stable_uuid), stable_uuid, output)
    except Exception as exc:  # noqa: BLE001 (it crosses back to the build as a value)
        return failure_of(exc)


def merge(layout, stable_uuid: bytes) -> bytes:
    """The book's PDF from a `print_layout.PrintLayout`."""
    import pikepdf

    from .chunks import FOLIO_BLOCK
    from .pdf import TRAILER_ID, XMP_DOCUMENT_ID

    stable_id = hashlib.md5(stable_uuid).hexdigest().encode()

    def opened(data):  # WeasyPrint's random ids made stable, of the same length, so no offset moves
        data = data if isinstance(data, bytes) else data.read()  # or read from the cache (cache.Stored)
        data = XMP_DOCUMENT_ID.sub(b"xmp.did:" + stable_uuid, data)
        return pikepdf.open(io.BytesIO(TRAILER_ID.sub(b"/ID [(" + stable_id + b") (" + stable_id + b")]", data)))

    warnings.filterwarnings("ignore", message="Copying pages from another Pdf")  # we remake the dests: _dests
    chunks, results = layout.chunks, layout.results
    book = opened(results[chunks[0].name]["pdf"])
    folio_pdfs: dict[int, object] = {}

    def folio_page(number: int):
        """The page of folios for the book's page `number` (from 0)."""
        block, at = divmod(number, FOLIO_BLOCK)
        if block not in folio_pdfs:
            folio_pdfs[block] = opened(layout.folios[block]["pdf"])
        return folio_pdfs[block].pages[at]

    sources, dests, outline = [folio_pdfs], [], []
    for n, chunk in enumerate(chunks):
        first = layout.numbers.starts[chunk.name] - 1
        if first - 1 >= len(book.pages) and layout.blank is not None:
            blank = opened(layout.blank["pdf"])
            sources.append(blank)
            book.pages.extend(blank.pages)
        source = book if n == 0 else opened(results[chunk.name]["pdf"])
        if n:
            sources.append(source)
            book.pages.extend(source.pages)
        _stamp_folios(book, first, folio_page, results[chunk.name]["folios"])
        merged = [book.pages[first + number].obj for number in range(len(source.pages))]
        local = {page.obj.objgen: merged[number] for number, page in enumerate(source.pages)}
        page_at = lambda dest: local[dest[0].objgen]  # noqa: E731
        dests += _dests(source, set(results[chunk.name]["anchors"]), page_at)
        outline += _outline(source, page_at)
    _set_dests(book, dests)
    _link_chunks(book, {str(key): key for key, _ in reversed(dests)})  # the first anchor of a name wins
    _set_outline(book, outline)
    _one_colour_profile(book)
    out = io.BytesIO()
    book.save(out, deterministic_id=True)
    return out.getvalue()


def _stamp_folios(book, first: int, folio_page, shown: list[bool]) -> None:
    """Its folio onto each page of a chunk that has one (`folio_page(n)`: the folio of the book's page n)."""
    for number, has_folio in enumerate(shown):
        if has_folio:
            _overlay(book, book.pages[first + number], folio_page(first + number), f"/Folio{first + number + 1}")


def _overlay(book, page, other, name: str) -> None:
    """`other` drawn over `page`, the same size (pikepdf's add_overlay names the form at random,
    which would make two builds differ)."""
    import pikepdf

    form = book.copy_foreign(other.as_form_xobject())
    resources = page.obj.get("/Resources")
    if "/XObject" not in resources:
        resources.XObject = pikepdf.Dictionary()
    resources.XObject[pikepdf.Name(name)] = form
    page.contents_add(pikepdf.Stream(book, b"q\n"), prepend=True)
    page.contents_add(pikepdf.Stream(book, b"\nQ\nq " + name.encode() + b" Do Q\n"))


def _dests(source, names: set[str], page_at) -> list:
    """(name as written, destination) of the source's anchors in `names`.

    The names are kept as the PDF strings WeasyPrint wrote (UTF-16 for names that are not
    ASCII), byte for byte, since a link's /Dest must match its name exactly.
    """
    import pikepdf

    root = source.Root.get("/Names")
    if root is None or "/Dests" not in root:
        return []
    found = []
    for key, dest in _name_tree_items(root.Dests):
        if str(key) in names:
            found.append((key, pikepdf.Array([page_at(dest), *list(dest)[1:]])))
    return found


def _link_chunks(book, names: dict) -> None:
    """Links to other chunks (`x-anthology-chunk:<id>` URIs) made links to the named destination
    of their anchor; a link to no anchor is dropped, as WeasyPrint drops it in one pass."""
    import pikepdf

    from .chunks import OUTSIDE_LINK

    prefix = OUTSIDE_LINK.encode()
    for page in book.pages:
        annots = page.obj.get("/Annots")
        if annots is None:
            continue
        kept = pikepdf.Array()
        for annot in annots:
            action = annot.get("/A")
            uri = bytes(action.get("/URI", b"")) if action is not None else b""
            if uri.startswith(prefix):
                key = names.get(unquote(uri[len(prefix):].decode("ascii")))
                if key is None:
                    continue
                del annot["/A"]
                annot.Dest = pikepdf.String(bytes(key))
            kept.append(annot)
        page.obj.Annots = kept


def _name_tree_items(node):
    """The (key, value) pairs of a name tree, keys as the PDF string objects themselves."""
    if "/Names" in node:
        pairs = list(node.Names)
        yield from zip(pairs[::2], pairs[1::2])
    for kid in node.get("/Kids", ()):
        yield from _name_tree_items(kid)


def _set_dests(book, dests: list) -> None:
    import pikepdf

    flat, seen = pikepdf.Array(), set()
    for key, dest in sorted(dests, key=lambda item: bytes(item[0])):  # name trees are sorted by bytes
        if bytes(key) in seen:  # the first anchor of a name wins, as in one pass
            continue
        seen.add(bytes(key))
        flat.append(key)
        flat.append(dest)
    if "/Names" not in book.Root:
        book.Root.Names = pikepdf.Dictionary()
    book.Root.Names.Dests = book.make_indirect(pikepdf.Dictionary(Names=flat))


def _outline(source, page_at) -> list:
    """The source's outline entries as (title, destination, children)."""
    def walk(items):
        return [(str(item.title), [page_at(item.destination), *list(item.destination)[1:]], walk(item.children))
                for item in items]

    with source.open_outline() as outline:
        return walk(outline.root)


def _set_outline(book, entries: list) -> None:
    import pikepdf

    def items(entries):
        made = []
        for title, dest, children in entries:
            item = pikepdf.OutlineItem(title, pikepdf.Array(dest))
            item.children.extend(items(children))
            made.append(item)
        return made

    with book.open_outline() as outline:
        outline.root.clear()
        outline.root.extend(items(entries))


def _one_colour_profile(book) -> None:
    """Each chunk embedded the press profile; every page is made to use the first copy."""
    import pikepdf

    first: dict[str, object] = {}
    seen = set()
    for page in book.pages:
        resources = page.obj.get("/Resources")
        spaces = resources.get("/ColorSpace") if resources is not None else None
        if spaces is None or spaces.objgen in seen and spaces.objgen != (0, 0):
            continue
        seen.add(spaces.objgen)
        for key in list(spaces.keys()):
            space = spaces[key]
            if isinstance(space, pikepdf.Array) and len(space) == 2 and space[0] == pikepdf.Name.ICCBased:
                digest = hashlib.sha256(space[1].read_raw_bytes()).hexdigest()
                spaces[key] = pikepdf.Array([pikepdf.Name.ICCBased, first.setdefault(digest, space[1])])
