# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# First-party plugins and the plugin template: installed so their entry points load and their
# tests run with the rest.
PLUGIN_PACKAGES := $(wildcard plugins/*/pyproject.toml examples/plugin-template/pyproject.toml)

.PHONY: demo test lint bench venv clean-demo

$(STAMP): pyproject.toml $(PLUGIN_PACKAGES)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet $(foreach plugin,$(PLUGIN_PACKAGES),-e $(dir $(plugin)))
	touch $(STAMP)

venv: $(STAMP)

instance/config.py:
	$(BIN)/python -c "import secrets; print(f'SECRET_KEY = \"{secrets.token_hex(32)}\"\nBLIND_INDEX_KEY = \"{secrets.token_hex(32)}\"\nPUBLIC_URL = \"http://127.0.0.1:5000\"\nDEMO_MODE = True')" > $@

# The engine on :5000 (SQLite, mail written to instance/mail/ by the in-process loop) and an
# example organization site on :8000 that embeds the petitions.
demo: $(STAMP) instance/config.py
	$(BIN)/petitionkit db upgrade
	$(BIN)/petitionkit petition load examples/petitions/*.md
	@echo "Engine: http://127.0.0.1:5000/p/<slug>   Example site: http://127.0.0.1:8000"
	@echo "Confirmation emails land in instance/mail/ (open the .html files in a browser)."
	trap 'kill 0' INT TERM EXIT; \
	$(BIN)/python -m http.server 8000 --bind 127.0.0.1 --directory examples/site & \
	$(BIN)/petitionkit run --host 127.0.0.1 --port 5000 --with-threads

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check petitionkit tests benchmarks plugins
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean-demo:
	rm -rf instance/petitionkit.db* instance/mail
