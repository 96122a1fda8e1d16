"""`make bench`: our build against one naive single pass, on the default book and a ~1,000-page one.

Every figure is measured in a child process of its own (imports done before the clock starts).
Times are taken with nothing else running. Memory is taken in runs of their own (the naive pass
and the first build again), while this process samples the memory of the child and everything it
starts (pandoc, workers), summed over the processes as PSS, which counts a page shared by several
processes once in all (psutil; RSS summed is reported too; without psutil, the largest single
process from getrusage). Sampling reads every process's memory map twenty times a second: for
the default book's build, with its five processes, that took about 0.4 s of the two cores
(12 %), against 0.05 s for the naive pass's one, so a sampled run would not time fairly.

    python bench/run.py [--pages 1000] [--texts 40] [--out build/bench.json] [--keep DIR]

What is measured, for each book:
  naive         pandoc each text to an HTML fragment (the same reader, citeproc when the book has a
                bibliography), the fragments in one HTML document, one WeasyPrint render to PDF with
                the same print.css and page size: what a single pass costs.
  first         `anthology build` (PDF and EPUB) into an empty folder: no cache.
  rebuild       `anthology build` again, nothing changed (the cache serves the conversions and the PDF).
  relayout      after a change to the book's metadata (the copyright page's rights line): the
                conversions come from the cache; the chunks whose HTML changed (the prelims) are
                laid out again, and the PDF is merged again.
  full          a full rebuild: every page laid out again, every text from the cache (a new
                SOURCE_DATE_EPOCH, which every chunk's key holds, as a change to print.css would).
  one-text      after a one-word edit in one text (the middle one): incremental build, PDF and EPUB.
  epub-only     after another one-word edit in that text: `anthology build --only epub`.
  epub-edition  the same for an EPUB that follows no print pages (`output.epub.page-list: none`,
                built once so), after a third edit: no print layout at all.
  check         `anthology check`.
The first build's memory is also given phase by phase: its peak while the texts are made
(before the print layout), during the layout, and at the end (the PDF merged, the EPUB packaged).
It writes the figures to build/bench.json and prints a table.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE_EVERY = 0.05
FULL_REBUILD_EPOCH = 1_700_000_000


# --- The synthetic anthology ----------------------------------------------------------------

_FRONT = re.compile(r"\A---\n(.*?\n)---\n", re.S)
_NOTE_LABEL = re.compile(r"\[\^([^\]\s]+)\]")


def _split(text: str) -> tuple[str, str]:
    m = _FRONT.match(text)
    return (m.group(1), text[m.end():]) if m else ("", text)


def _relabel(body: str, copy: int, offset: int) -> str:
    """The body's notes relabelled for its `copy`-th repetition in one text: numbers go on, others get a suffix."""
    def label(m):
        name = m.group(1)
        return f"[^{int(name) + offset}]" if name.isdigit() else f"[^{name}x{copy}]"
    return _NOTE_LABEL.sub(label, body) if copy else body


def _note_count(body: str) -> int:
    return max([int(n) for n in _NOTE_LABEL.findall(body) if n.isdigit()] or [0])


def _paragraph_cut(body: str, size: int) -> str:
    """The body cut after whole paragraphs to about `size` characters, keeping its notes' definitions."""
    paragraphs = body.split("\n\n")
    definitions = [p for p in paragraphs if p.lstrip().startswith("[^")]
    kept, total = [], 0
    for p in (p for p in paragraphs if not p.lstrip().startswith("[^")):
        if total >= size:
            break
        kept.append(p)
        total += len(p)
    used = set(_NOTE_LABEL.findall("\n\n".join(kept)))
    defs = [d for d in definitions if (m := _NOTE_LABEL.match(d.lstrip())) and m.group(1) in used]
    return "\n\n".join(kept + defs) + "\n"


def synthetic_book(folder: Path, pages: int, texts: int) -> Path:
    """A book of about `pages` pages in our print edition: `texts` texts of varied length, made from texts/*.md."""
    sources = [_split((ROOT / "texts" / f"{name}.md").read_text(encoding="utf-8"))
               for name in ("castoriadis-1964", "pallis-1975", "wetzel-2005")]
    chars_per_page = 2350  # our print layout of these texts (6x9in): 1.85 MB of Markdown made 788 pages
    total = pages * chars_per_page
    weights = [0.4 + (i * 7 % 11) / 6 for i in range(texts)]  # lengths from 0.4 to 2.1 times the mean
    (folder / "texts").mkdir(parents=True, exist_ok=True)
    contents = []
    for i in range(texts):
        meta, body = sources[i % len(sources)]
        size = int(total * weights[i] / sum(weights))
        parts, offset, copy = [], 0, 0
        while sum(len(p) for p in parts) < size:
            piece = _relabel(body, copy, offset)
            offset += _note_count(body)
            copy += 1
            parts.append(piece)
        text = _paragraph_cut("\n\n".join(parts), size)
        name = f"t{i + 1:02d}"
        title = f"Text {i + 1}: " + re.search(r"^title: (.*)$", meta, re.M).group(1).strip("'\"")
        author = re.search(r"^author: (.*)$", meta, re.M).group(1)
        front = (f"---\ntitle: {json.dumps(title)}\nauthor: {json.dumps(author)}\ndate: {1960 + i}\n"
                 f"language: en\nrights: Benchmark copy.\nretrieved-from: anthology benchmark\n---\n\n")
        (folder / "texts" / f"{name}.md").write_text(front + text, encoding="utf-8")
        contents.append(f"  - text: texts/{name}.md")
    shutil.copy(ROOT / "index.yaml", folder / "index.yaml")
    manifest = (
        "schema: 1\nbook:\n  title: A Benchmark Anthology\n  editors: [The anthology collective]\n"
        "  publisher: anthology editions\n  year: 2026\n  language: en\n  rights: Benchmark.\n"
        "index: index.yaml\ncontents:\n" + "\n".join(contents) +
        "\n  - back: sources\n  - back: index\noutput:\n  pdf:\n    trim: 6x9in\n    profile: press\n")
    (folder / "manifest.yaml").write_text(manifest, encoding="utf-8")
    return folder / "manifest.yaml"


def copy_default_book(folder: Path) -> Path:
    for name in ("manifest.yaml", "bibliography.yaml", "index.yaml"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, folder / name)
    for sub in ("texts", "notes", "images"):
        if (ROOT / sub).is_dir():
            shutil.copytree(ROOT / sub, folder / sub, ignore=shutil.ignore_patterns("*.corrections.yaml"))
    return folder / "manifest.yaml"


def edit_one_text(manifest: Path, n: int) -> Path:
    """A one-word edit in the middle text of the book (no index term added or removed)."""
    texts = sorted((manifest.parent / "texts").glob("*.md"))
    text = texts[len(texts) // 2]
    content = text.read_text(encoding="utf-8")
    front, body = _split(content)
    at = body.index(" the ", len(body) // 3)
    text.write_text(content[: len(content) - len(body)] + body[:at] + f" the{' very' * n} " + body[at + 5:],
                    encoding="utf-8")
    return text


# --- Measurements, each in a child process ----------------------------------------------------

def _child(task: dict) -> dict:
    import logging
    import resource

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    logging.getLogger("anthology").setLevel(logging.ERROR)

    if task["kind"] == "naive":  # before the clock; a build's own process never imports WeasyPrint,
        import weasyprint  # noqa: F401   its layout workers do
    from anthology.build import build
    from anthology.check import run_checks

    kind, manifest = task["kind"], Path(task["manifest"])
    passes = LayoutPasses()
    layout_times = _LayoutTimes()
    start = time.perf_counter()
    extra = {}
    if kind == "naive":
        extra["pages"] = naive_single_pass(manifest, Path(task["out"]))
    elif kind == "check":
        report = run_checks(manifest)
        extra["errors"] = len(report.errors)
    else:
        result = build(manifest, task["out"], tuple(task.get("only") or ("pdf", "epub")))
        extra["converted"] = len(result.converted)
        extra["cached"] = len(result.cached)
        extra["stages"] = {name: round(s, 2) for name, s in result.stages}
    seconds = time.perf_counter() - start
    extra["layout_passes"] = passes.done()
    extra["layout_times"] = layout_times.done()
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": seconds, "maxrss_self_mb": self_kb / 1024, "maxrss_children_mb": children_kb / 1024, **extra}


class _LayoutTimes:
    """When the build's print layout began and ended (wall clock), to tell the memory's phases apart."""

    def __init__(self):
        import logging

        class Handler(logging.Handler):
            def emit(inner, record):
                message = record.getMessage()
                if message.startswith("laying out the print edition"):
                    self.times.append(time.time())

        self.times: list[float] = []
        self.handler, self.logger = Handler(), logging.getLogger("anthology.build")
        self.logger.addHandler(self.handler)
        self.level = self.logger.level
        self.logger.setLevel(logging.DEBUG)  # a stage's start is logged at DEBUG

    def done(self) -> list[float]:
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)
        return self.times


class LayoutPasses:
    """Each WeasyPrint layout pass (HTML parsed to last page laid out): its pages and seconds."""

    def __init__(self):
        import logging

        class Handler(logging.Handler):
            def emit(inner, record):
                self.on(record.getMessage())

        self.passes: list[dict] = []
        logger = logging.getLogger("weasyprint.progress")
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.addHandler(Handler())

    def on(self, message: str) -> None:
        now = time.perf_counter()
        if message.startswith("Step 1 "):
            self.passes.append({"start": now, "end": now, "pages": 0})
        elif self.passes and message.startswith("Step 5 - Creating layout - Page "):
            page = int(message.split()[7])
            self.passes[-1]["pages"] = max(self.passes[-1]["pages"], page)
            self.passes[-1]["end"] = now
        elif self.passes and message.startswith("Step 6 "):
            self.passes[-1]["end"] = now

    def done(self) -> list[dict]:
        return [{"pages": p["pages"], "seconds": round(p["end"] - p["start"], 2)} for p in self.passes]


def naive_single_pass(manifest_path: Path, out: Path) -> int:
    """Pandoc each text to HTML, then one WeasyPrint render of the whole book with the same print.css."""
    from html import escape

    import pypandoc
    from weasyprint import CSS, HTML

    from anthology.manifest import load_manifest
    from anthology.render.pdf import STYLES, page_css

    manifest = load_manifest(manifest_path)
    pandoc = pypandoc.get_pandoc_path()
    citeproc = (["--citeproc", f"--bibliography={manifest.bibliography}", "-M", "suppress-bibliography=true"]
                if manifest.bibliography else [])
    sections = []
    for item in manifest.contents:
        if item.path is None:
            continue
        meta, body = _split(item.path.read_text(encoding="utf-8"))
        html = subprocess.run([pandoc, "--from=markdown-yaml_metadata_block-raw_html", "--to=html5",
                               "--wrap=none", *citeproc], input=body.encode(), capture_output=True,
                              check=True).stdout.decode()
        title = re.search(r"^title: (.*)$", meta, re.M)
        sections.append(f'<section class="part text"><h1 class="part-title">'
                        f'{escape(title.group(1) if title else item.id)}</h1><div class="body">{html}</div></section>')
    document = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>naive</title>'
                f'<style>{page_css(manifest.output)}</style></head><body>{"".join(sections)}</body></html>')
    out.mkdir(parents=True, exist_ok=True)
    rendered = HTML(string=document, base_url=str(manifest.root) + "/").render(
        stylesheets=[CSS(filename=str(STYLES / "print.css"))])
    rendered.write_pdf(out / "naive.pdf")
    return len(rendered.pages)


def measure(task: dict, memory: bool = False) -> dict:
    """Run one task in a child process; its figures, and with `memory` the peak of the summed
    memory of its processes (sampled: a run that samples is not timed, see the top)."""
    psutil = None
    if memory:
        try:
            import psutil
        except ImportError:
            pass
    proc = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(task)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **task.get("env", {})})
    peak = peak_rss = 0
    samples = []  # (time, PSS summed)
    if psutil is not None:
        try:
            parent = psutil.Process(proc.pid)
            while proc.poll() is None:
                pss, rss = _summed(psutil, [parent, *parent.children(recursive=True)])
                peak, peak_rss = max(peak, pss), max(peak_rss, rss)
                samples.append((time.time(), pss))
                time.sleep(SAMPLE_EVERY)
        except psutil.Error:
            pass
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"bench: {task['kind']} failed:\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    if memory:
        result["peak_mb"] = peak / 2**20 if peak else max(result["maxrss_self_mb"], result["maxrss_children_mb"])
        result["peak_rss_mb"] = peak_rss / 2**20 if peak_rss else None
        result["peak_method"] = ("psutil: proportional set size (PSS), summed over processes" if peak
                                 else "getrusage, largest process")
        result["phase_peaks_mb"] = _phase_peaks(samples, result.get("layout_times", []))
    return result


def _phase_peaks(samples: list[tuple[float, int]], layout_times: list[float]) -> dict:
    """The peak of each phase of a build (PSS summed): before the print layout (the texts made),
    during it, and after it (the PDF merged, the EPUB packaged)."""
    if len(layout_times) < 2 or not samples:
        return {}
    start, end = layout_times[0], layout_times[-1]
    phases = {"texts": [p for t, p in samples if t < start], "layout": [p for t, p in samples if start <= t <= end],
              "end": [p for t, p in samples if t > end]}
    return {name: round(max(values) / 2**20) for name, values in phases.items() if values}


def _summed(psutil, processes) -> tuple[int, int]:
    """The memory of these processes: PSS summed (a page shared by n processes counts 1/n in
    each), and RSS summed. RSS counts shared pages in every process: the libraries, and the
    whole memory of a process that has forked to start pandoc, until pandoc replaces the fork."""
    pss = rss = 0
    for process in processes:
        try:
            info = process.memory_full_info()
        except psutil.Error:
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return pss, rss


def bench_book(name: str, manifest: Path, work: Path, log) -> dict:
    out = work / f"{name}-build"
    figures = {}

    def run(label: str, memory: bool = False, **task):
        log(f"{name}: {label} …")
        figures[label] = measure({"manifest": str(manifest), "out": str(out), **task}, memory)
        log(f"{name}: {label}: {figures[label]['seconds']:.1f} s"
            + (f", {figures[label]['peak_mb']:.0f} MB" if memory else ""))

    run("naive", kind="naive", out=str(work / f"{name}-naive"))
    run("naive-memory", memory=True, kind="naive", out=str(work / f"{name}-naive-memory"))
    run("first-memory", memory=True, kind="build", out=str(work / f"{name}-first-memory"))
    run("first", kind="build")
    from pypdf import PdfReader
    figures["our_pages"] = len(PdfReader(next(out.glob("*.pdf"))).pages)
    run("rebuild", kind="build")
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(re.sub(r"(\n  rights: )", r"\1(Rebuilt.) ", text, count=1), encoding="utf-8")
    run("relayout", kind="build")
    # A full rebuild: a new SOURCE_DATE_EPOCH, which every chunk's key holds, lays every page out
    # again (as a change to print.css would), while every text comes from the cache.
    run("full", kind="build", env={"SOURCE_DATE_EPOCH": str(FULL_REBUILD_EPOCH)})
    edited = edit_one_text(manifest, 1)
    log(f"{name}: edited {edited.relative_to(manifest.parent)}")
    run("one-text", kind="build")
    edit_one_text(manifest, 2)
    run("epub-only", kind="build", only=["epub"])
    text = manifest.read_text(encoding="utf-8")
    if "\noutput:\n" not in text or "\n  epub:" in text:
        raise SystemExit(f"bench: {manifest} has no `output:` section, or one with `epub:` already")
    manifest.write_text(text.replace("\noutput:\n", "\noutput:\n  epub:\n    page-list: none\n", 1), encoding="utf-8")
    measure({"manifest": str(manifest), "out": str(out), "kind": "build", "only": ["epub"]})  # its pages, once
    edit_one_text(manifest, 3)
    run("epub-edition", kind="build", only=["epub"])
    run("check", kind="check")
    figures["pages"] = figures["naive"]["pages"]
    return figures


def _stages(figures: dict, *names: str) -> float:
    return sum(figures.get("stages", {}).get(name, 0) for name in names)


def _rss(r: dict) -> str:
    naive, first = r["naive-memory"].get("peak_rss_mb"), r["first-memory"].get("peak_rss_mb")
    return f"{naive:.0f} / {first:.0f} MB ({first / naive:.2f}×)" if naive and first else "?"


def table(results: dict) -> str:
    rows = [("", *results.keys())]

    def add(label, fn):
        rows.append((label, *(fn(r) for r in results.values())))

    def ratio(r, key):
        return f"{r[key]['seconds']:.1f} s ({r[key]['seconds'] / r['naive']['seconds']:.2f}×)"

    add("pages: our PDF / naive pass", lambda r: f"{r['our_pages']} / {r['pages']}")
    add("naive single pass", lambda r: f"{r['naive']['seconds']:.1f} s")
    add("our first build", lambda r: ratio(r, "first"))
    add("  of which the print layout", lambda r: f"{r['first'].get('stages', {}).get('laying out the print edition', 0):.1f} s"
        " (chunks on every core)")
    add("  of which waiting for the PDF", lambda r: f"{_stages(r['first'], 'merging the PDF', 'waiting for the PDF', 'writing the PDF'):.1f} s"
        + (" (merged alone, before the EPUB)" if "waiting for the PDF" in r["first"].get("stages", {})
           else " (merged in a worker beside the EPUB)"))
    add("rebuild, nothing changed", lambda r: ratio(r, "rebuild"))
    add("rebuild after a metadata edit", lambda r: ratio(r, "relayout"))
    add("full rebuild: every page laid out again", lambda r: ratio(r, "full"))
    add("one-text rebuild", lambda r: ratio(r, "one-text"))
    add("EPUB only after one-text edit", lambda r: ratio(r, "epub-only"))
    add("  of which packaging the EPUB", lambda r: f"{r['epub-only'].get('stages', {}).get('packaging the EPUB', 0):.1f} s")
    add("EPUB edition (no page list) after an edit", lambda r: f"{r['epub-edition']['seconds']:.2f} s")
    add("one-text rebuild: print layout", lambda r: f"{r['one-text'].get('stages', {}).get('laying out the print edition', 0):.1f} s")
    add("naive pass: layout", lambda r: f"{r['naive']['layout_passes'][0]['seconds']:.1f} s"
        if r["naive"]["layout_passes"] else "?")
    add("anthology check", lambda r: f"{r['check']['seconds']:.2f} s")
    add("peak memory (PSS summed), naive", lambda r: f"{r['naive-memory']['peak_mb']:.0f} MB")
    add("peak memory (PSS summed), first build", lambda r: f"{r['first-memory']['peak_mb']:.0f} MB "
        f"({r['first-memory']['peak_mb'] / r['naive-memory']['peak_mb']:.2f}×)")
    add("  texts / layout / end of the build", lambda r: " / ".join(
        f"{mb} MB" for mb in r["first-memory"].get("phase_peaks_mb", {}).values()) or "not sampled")
    add("peak memory (RSS summed), naive / first", lambda r: _rss(r))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pages", type=int, default=1000, help="size of the synthetic book (default 1000)")
    p.add_argument("--texts", type=int, default=40, help="texts in the synthetic book (default 40)")
    p.add_argument("--out", default=str(ROOT / "build" / "bench.json"))
    p.add_argument("--keep", help="make the books in this folder and keep them")
    p.add_argument("--only", choices=("default", "synthetic"), help="bench one book only")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return 0

    def log(message):
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="anthology-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    try:
        if args.only in (None, "default"):
            book = work / "default"
            book.mkdir(exist_ok=True)
            results["default book"] = bench_book("default", copy_default_book(book), work, log)
        if args.only in (None, "synthetic"):
            book = work / "synthetic"
            book.mkdir(exist_ok=True)
            manifest = synthetic_book(book, args.pages, args.texts)
            log(f"synthetic: {args.texts} texts, {sum(p.stat().st_size for p in book.glob('texts/*.md')) // 1024} KB")
            results[f"synthetic ({args.texts} texts)"] = bench_book("synthetic", manifest, work, log)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    import platform
    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform()},
              "when": time.strftime("%Y-%m-%dT%H:%M:%S"), "books": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(table(results))
    print(f"\nfigures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
