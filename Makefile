# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench venv clean-demo messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
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

# After changing a user-facing string: refresh messages.pot and every catalogue, translate the new
# entries (pybabel marks them), then compile; the .mo files are committed so pip installs work.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
	  --project petitionkit --version 0.1.0 -o messages.pot .
	$(BIN)/pybabel update -i messages.pot -d petitionkit/translations --no-location --ignore-obsolete -w 100
	$(BIN)/pybabel compile -d petitionkit/translations --statistics
