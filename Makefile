# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench venv clean-demo

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# A secret of its own for every checkout; never committed (instance/ is ignored).
instance/config.py: | $(STAMP)
	mkdir -p instance
	$(BIN)/python -c "import secrets; print(f'SECRET_KEY = \"{secrets.token_hex(32)}\"\nBLIND_INDEX_KEY = \"{secrets.token_hex(32)}\"\nPUBLIC_URL = \"http://127.0.0.1:5000\"')" > $@

# The example organization site embeds the petitions. Until examples/site exists, the demo
# serves a plain page that links to the hosted petition pages instead.
EXAMPLE_SLUGS := $(notdir $(basename $(wildcard examples/petitions/*.md)))
SITE_DIR := $(if $(wildcard examples/site/index.html),examples/site,instance/demo-site)

instance/demo-site/index.html: $(wildcard examples/petitions/*.md)
	mkdir -p $(@D)
	{ printf '<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>Example organization</title>\n'; \
	  printf '<h1>Example organization</h1>\n<p>Our petitions, hosted by petitionkit:</p>\n<ul>\n'; \
	  for slug in $(EXAMPLE_SLUGS); do \
	    printf '<li><a href="http://127.0.0.1:5000/p/%s">%s</a></li>\n' "$$slug" "$$slug"; \
	  done; \
	  printf '</ul>\n</html>\n'; } > $@

# The engine on :5000 (SQLite, mail written to instance/mail/ by the in-process loop) and an
# example organization site on :8000 that embeds the petitions. Ctrl-C stops both.
demo: $(STAMP) instance/config.py $(SITE_DIR)/index.html
	$(BIN)/petitionkit db upgrade
	$(BIN)/petitionkit petition load examples/petitions/*.md
	@echo
	@echo "Engine:       http://127.0.0.1:5000/p/bring-daniel-home  (petitionkit petition list shows all)"
	@echo "Example site: http://127.0.0.1:8000"
	@echo "Confirmation emails land in instance/mail/ (open the .html files in a browser)."
	@echo
	$(BIN)/python -m http.server 8000 --bind 127.0.0.1 --directory $(SITE_DIR) & site=$$!; \
	trap 'kill $$site 2>/dev/null' EXIT INT TERM; \
	$(BIN)/petitionkit run --host 127.0.0.1 --port 5000 --with-threads

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check petitionkit tests benchmarks plugins
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean-demo:
	rm -rf instance/petitionkit.db* instance/mail
