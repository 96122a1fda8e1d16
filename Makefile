# Two commands on a fresh machine: `make book` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MANIFEST ?= manifest.yaml

.PHONY: book pdf epub test texts clean distclean a11y bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/python -m compileall -q anthology  # where PYTHONDONTWRITEBYTECODE is set, each command would compile it again
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/anthology build $(MANIFEST)

pdf: $(STAMP)
	$(BIN)/anthology build $(MANIFEST) --only pdf

epub: $(STAMP)
	$(BIN)/anthology build $(MANIFEST) --only epub

texts: $(STAMP)
	$(BIN)/anthology reimport $(MANIFEST)

test: $(STAMP)
	$(BIN)/pytest -q

# Our build against one naive single pass, on the default book and a synthetic ~1,000-page one
# (about half an hour). Figures in build/bench.json and a table. Not part of `make test`.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py --out build/bench.json

# DAISY Ace on the book's EPUB; fails on serious or critical violations. Not part of book/test.
# Installs Ace into .a11y/ (npm, not global) and Debian's chromium if there is none.
A11Y        := .a11y
ACE_VERSION := 1.4.6
a11y: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -q && $$sudo apt-get install -y -q --no-install-recommends chromium; }
	@test -x $(A11Y)/node_modules/.bin/ace-cli || { \
	  mkdir -p $(A11Y) && echo '*' > $(A11Y)/.gitignore && \
	  PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix $(A11Y) --no-audit --no-fund --loglevel=error --save-exact \
	    @daisy/ace-cli@$(ACE_VERSION); }
	@epub=$$($(BIN)/anthology build $(MANIFEST) | sed -n 's/^epub: //p') && test -n "$$epub" && \
	  rm -rf build/a11y && \
	  PUPPETEER_EXECUTABLE_PATH=$$(command -v chromium) $(A11Y)/node_modules/.bin/ace-cli \
	    --silent --outdir build/a11y "$$epub" && \
	  $(BIN)/python -c "import json,sys; r=json.load(open('build/a11y/report.json')); \
	    bad=[(t['earl:test']['dct:title'],t['earl:test']['earl:impact'],a.get('earl:testSubject',{}).get('url','')) \
	      for a in r.get('assertions',[]) for t in a.get('assertions',[]) \
	      if t['earl:result']['earl:outcome']=='fail' and t['earl:test']['earl:impact'] in ('serious','critical')]; \
	    [print('ace: %s (%s) in %s' % b) for b in bad]; \
	    print('ace: %d serious or critical violations; report: build/a11y/report.html' % len(bad)); sys.exit(1 if bad else 0)"

clean:
	rm -rf build

distclean: clean
	rm -rf $(VENV) *.egg-info
