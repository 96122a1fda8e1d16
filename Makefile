# Two commands on a fresh machine: `make book` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MANIFEST ?= manifest.yaml

.PHONY: book pdf epub test texts clean distclean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
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

clean:
	rm -rf build

distclean: clean
	rm -rf $(VENV) *.egg-info
