# `make book` and `make test` each create .venv and install the pinned dependencies first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: book pdf dist test lint clean-book venv chromium

venv: $(STAMP)

# Reinstall whenever the pins change.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[book,grade,test]'
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build --builder html --warningiserror --keep-going --all .

# The learner kit in dist/: the book (with the learner wheel served beside its pages), the
# released notebooks and the wheel; no solution, hidden test or instructor-only oracle (the
# build checks it and fails otherwise). Builds the book first; `make dist BOOK_HTML=DIR` takes
# an existing build instead.
BOOK_HTML ?=
dist: $(STAMP)
	@if [ -z "$(BOOK_HTML)" ]; then $(MAKE) book; fi
	$(BIN)/python -m book.kit --html $(or $(BOOK_HTML),_build/html) --out dist

# The whole book as one PDF: the pages of _build/html printed by the system Chromium, in toc order.
pdf: book chromium
	$(BIN)/python -m book.pdf --html _build/html --out _build/pdf/book.pdf

# The browser tests and the PDF drive Debian's Chromium (never Playwright's own download).
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM
chromium:
	@test -x $(CHROMIUM) && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "error: $(CHROMIUM) is missing. Install Chromium as root (Debian/Ubuntu:" \
			"apt-get install -y chromium) or run make CHROMIUM=/path/to/chromium" >&2; \
		exit 1; \
	fi

test: $(STAMP) chromium
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

clean-book:
	rm -rf _build
