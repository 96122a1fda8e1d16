"""The command line: a thin layer over the library."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .messages import AnthologyError

log = logging.getLogger("anthology")

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # as a shell reports a command that Ctrl-C stopped


def _verbosity(args) -> int:
    from .progress import NORMAL, QUIET, VERBOSE
    return QUIET if args.quiet else VERBOSE if args.verbose else NORMAL


def _cmd_build(args) -> int:
    from .build import OUTPUTS, build
    from .progress import BuildProgress
    with BuildProgress(_verbosity(args)):
        result = build(args.manifest, args.out, tuple(args.only) if args.only else OUTPUTS,
                       use_cache=not args.no_cache)
    for kind, path in result.outputs.items():
        print(f"{kind}: {path}")
    return EXIT_OK


def _cmd_watch(args) -> int:
    from .build import OUTPUTS
    from .watch import watch
    return watch(args.manifest, args.out, tuple(args.only) if args.only else OUTPUTS,
                 use_cache=not args.no_cache, debounce=args.debounce, verbosity=_verbosity(args))


def _cmd_import(args) -> int:
    from .importers.run import import_text
    result = import_text([Path(s) for s in args.sources], Path(args.output), args.format)
    report = result.report.to_markdown()
    if args.report:
        Path(args.report).write_text(report, encoding="utf-8")
    if not args.quiet:
        print(report)
    print(f"wrote {args.output}")
    return EXIT_OK


def _cmd_reimport(args) -> int:
    from .importers.run import import_text, recipe
    from .manifest import load_manifest
    manifest = load_manifest(args.manifest)
    for item in manifest.contents:
        if item.kind != "text" or item.path is None or not (r := recipe(item.path)):
            continue
        sources, fmt = r
        import_text([manifest.root / s for s in sources], item.path, fmt, manifest.root)
        print(f"reimported {item.path.relative_to(manifest.root)}")
    return EXIT_OK


def _cmd_bib_suggest(args) -> int:
    from .bibsuggest import as_csl_yaml, suggest
    from .manifest import load_manifest
    from .model import load_book
    text = as_csl_yaml(suggest(load_book(load_manifest(args.manifest))))
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


CHECK_EPILOG = """\
exit status:
  0  no errors (warnings allowed, unless --strict)
  1  errors found (with --strict, warnings count as errors)
  2  usage error: bad arguments, or no manifest at the given path
  130  stopped by Ctrl-C

Diagnostics go to standard output, sorted by file and line, as
FILE:LINE:COL: SEVERITY CODE: message. Hint: ..., then a one-line summary.
See docs/check.md for what is checked and every code."""


def _cmd_check(args) -> int:
    from .check import run_checks
    from .messages import Diagnostic
    manifest = Path(args.manifest)
    if manifest.is_dir():
        manifest = manifest / "manifest.yaml"
    if not manifest.is_file():
        print(Diagnostic("M005", f"manifest '{manifest}' does not exist", str(manifest)).format(), file=sys.stderr)
        return EXIT_USAGE
    manifest_log = logging.getLogger("anthology.manifest")
    level = manifest_log.level
    manifest_log.setLevel(logging.ERROR)  # its warnings are in the report; don't log them twice
    try:
        report = run_checks(manifest, strict=args.strict)
    finally:
        manifest_log.setLevel(level)
    for diagnostic in report.diagnostics:
        if not (args.quiet and diagnostic.severity != "error"):
            print(diagnostic.format())
    print(report.summary())
    return report.exit_code


def _cmd_schema(args) -> int:
    from .schema import schema_markdown
    sys.stdout.write(schema_markdown())
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="anthology", description="Publish anthologies as PDF and EPUB.")
    p.add_argument("-v", "--verbose", action="store_true", help="say more")
    p.add_argument("-q", "--quiet", action="store_true", help="only errors")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build the PDF and the EPUB")
    b.add_argument("manifest", nargs="?", default="manifest.yaml")
    b.add_argument("--out", help="output folder (default: build/ beside the manifest)")
    b.add_argument("--only", action="append", choices=("pdf", "epub"), help="build only this output")
    b.add_argument("--no-cache", action="store_true",
                   help="convert every text again and lay the book out again, ignoring build/.cache/")
    b.set_defaults(run=_cmd_build)

    w = sub.add_parser("watch", help="rebuild the book whenever one of its files is saved (Ctrl-C stops)")
    w.add_argument("manifest", nargs="?", default="manifest.yaml")
    w.add_argument("--out", help="output folder (default: build/ beside the manifest)")
    w.add_argument("--only", action="append", choices=("pdf", "epub"), help="build only this output")
    w.add_argument("--no-cache", action="store_true", help="do not use build/.cache/")
    w.add_argument("--debounce", type=float, default=0.5, metavar="SECONDS",
                   help="wait until no file has changed for this long before rebuilding (default 0.5)")
    w.set_defaults(run=_cmd_watch)

    i = sub.add_parser("import", help="turn raw sources into a clean Markdown text")
    i.add_argument("sources", nargs="+", help="one source, or several witnesses of one work")
    i.add_argument("-o", "--output", required=True, help="the text to write, e.g. texts/NAME.md")
    i.add_argument("--format", default="auto", help="auto (default), wiki, pdf-text or plain")
    i.add_argument("--report", help="also write the report as Markdown to this file")
    i.set_defaults(run=_cmd_import)

    r = sub.add_parser("reimport", help="re-run the import of every text from its recorded sources")
    r.add_argument("manifest", nargs="?", default="manifest.yaml")
    r.set_defaults(run=_cmd_reimport)

    bib = sub.add_parser("bib", help="help with the bibliography").add_subparsers(dest="bib_command", required=True)
    bs = bib.add_parser("suggest", help="list the works the texts' notes cite, as candidate CSL YAML entries")
    bs.add_argument("manifest", nargs="?", default="manifest.yaml")
    bs.add_argument("-o", "--output", help="write the candidates to this file instead of printing them")
    bs.set_defaults(run=_cmd_bib_suggest)

    c = sub.add_parser("check", help="lint the whole book without rendering it",
                       description="Check the manifest, the texts' front matter, notes, cross-references,\n"
                                   "citations, index terms and images, without rendering the book.",
                       epilog=CHECK_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("manifest", nargs="?", default="manifest.yaml",
                   help="the book's manifest, or its folder (default: manifest.yaml)")
    c.add_argument("--strict", action="store_true", help="treat warnings as errors (exit status 1)")
    c.set_defaults(run=_cmd_check)

    s = sub.add_parser("schema", help="print the manifest schema as Markdown")
    s.set_defaults(run=_cmd_schema)
    return p


class _QuietFonts(logging.Filter):
    """WeasyPrint's advice to install HarfBuzz-Subset is for packagers, not editors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "HarfBuzz" not in record.getMessage()


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record is emitted, not when the handler was made."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def _configure_logging(level: int) -> None:
    handler = _CurrentStderr()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(_QuietFonts())
    handler.setLevel(level)  # the progress display may lower the loggers' levels to follow the build
    for name in ("anthology", "weasyprint"):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, "_anthology", False)]:
            logger.removeHandler(old)
        handler._anthology = True
        logger.addHandler(handler)
        logger.setLevel(level if name == "anthology" else max(level, logging.WARNING))
        logger.propagate = False
    logging.getLogger("fontTools").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    _configure_logging(logging.ERROR if args.quiet else logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return args.run(args)
    except AnthologyError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic.format(), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # outputs are renamed into place whole: the last good ones are untouched
        from .render import workers
        workers.stop()  # rather than wait, on the way out, for what they were doing
        print("anthology: stopped (Ctrl-C); the outputs already built are as they were", file=sys.stderr)
        return EXIT_INTERRUPTED
