# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# First-party plugins and the plugin template: installed so their entry points load and their
# tests run with the rest.
PLUGIN_PACKAGES := $(wildcard plugins/*/pyproject.toml examples/plugin-template/pyproject.toml)

.PHONY: demo test lint bench venv clean-demo messages screenshots

$(STAMP): pyproject.toml $(PLUGIN_PACKAGES)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet $(foreach plugin,$(PLUGIN_PACKAGES),-e $(dir $(plugin)))
	touch $(STAMP)

venv: $(STAMP)

# A secret of its own for every checkout; never committed (instance/ is ignored).
# The demo's address is localhost, not 127.0.0.1: browsers treat it as a secure context and
# accept it as a passkey's relying party, which an IP address never is.
instance/config.py: | $(STAMP)
	mkdir -p instance
	$(BIN)/python -c "import secrets; print(f'SECRET_KEY = \"{secrets.token_hex(32)}\"\nBLIND_INDEX_KEY = \"{secrets.token_hex(32)}\"\nPUBLIC_URL = \"http://localhost:5000\"')" > $@

# The key pair signers' personal data is sealed to. The demo's one process takes signatures and
# delivers its own mail, so it holds both keys: a choice written into instance/config.py
# (docs/privacy.md says how to split them).
instance/data.key: | instance/config.py
	$(BIN)/petitionkit keys generate --dir instance
	grep -q '^DATA_PRIVATE_KEY_FILE' instance/config.py || echo 'DATA_PRIVATE_KEY_FILE = "data.key"  # one process holds both keys (docs/privacy.md)' >> instance/config.py

# The example organization site (examples/site) embeds the petitions' widgets.
SITE_DIR := examples/site

# The engine on :5000 (SQLite, mail written to instance/mail/ by the in-process loop) and an
# example organization site on :8000 that embeds the petitions. Ctrl-C stops both.
# The confidential stories' own key pair (the stories plugin); in the demo it stays in instance/.
instance/stories.key: | instance/config.py
	$(BIN)/petitionkit keys generate --stories --dir instance

# The workspace's first account, an owner, is made once with a random password kept in
# instance/workspace-owner.txt (instance/ is never committed); the second factor is set up at the
# first sign-in, as for every account.
DEMO_OWNER := owner@example.org

demo: $(STAMP) instance/config.py instance/data.key instance/stories.key
	$(BIN)/petitionkit db upgrade
	$(BIN)/petitionkit petition load examples/petitions/*.md
	@test -s instance/workspace-owner.txt || { \
	  password=$$($(BIN)/python -c "import secrets; print(secrets.token_urlsafe(15))"); \
	  printf '%s\n' "$$password" | $(BIN)/petitionkit users add $(DEMO_OWNER) --role owner --password-stdin && \
	  (umask 077; printf '%s\n' "$$password" > instance/workspace-owner.txt); }
	@echo
	@echo "Engine:       http://localhost:5000/  (the open petitions)"
	@echo "Example site: http://localhost:8000"
	@echo "Confirmation emails land in instance/mail/ (open the .html files in a browser)."
	@echo "Workspace:    http://localhost:5000/admin/"
	@echo "              sign in as $(DEMO_OWNER) with the password $$(cat instance/workspace-owner.txt)"
	@echo "              (kept in instance/workspace-owner.txt); the first sign-in sets up a second factor."
	@echo
	$(BIN)/python -m http.server 8000 --bind 127.0.0.1 --directory $(SITE_DIR) & site=$$!; \
	trap 'kill $$site 2>/dev/null' EXIT INT TERM; \
	PETITIONKIT_DEMO_MODE=true $(BIN)/petitionkit run --host 127.0.0.1 --port 5000 --with-threads

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check petitionkit tests benchmarks plugins examples docs
	$(BIN)/mypy

# Lighthouse comes from npm (it needs Node 18 or later), installed once outside the checkout.
LIGHTHOUSE_DIR ?= $(HOME)/.cache/petitionkit-bench/lighthouse
LIGHTHOUSE := $(LIGHTHOUSE_DIR)/node_modules/.bin/lighthouse

$(LIGHTHOUSE):
	npm install --prefix $(LIGHTHOUSE_DIR) --no-audit --no-fund -E lighthouse@12.2.3

bench: $(STAMP) $(LIGHTHOUSE)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/lighthouse.py --lighthouse $(LIGHTHOUSE)

# docs/screenshots.md: the pages and the mail signers see, in three languages and two widths.
screenshots: $(STAMP)
	$(BIN)/python docs/screenshots/take.py
	$(BIN)/python docs/screenshots/steps.py
	$(BIN)/python docs/screenshots/workspace.py

clean-demo:
	rm -rf instance/petitionkit.db* instance/mail instance/workspace-owner.txt

# After changing a user-facing string: refresh messages.pot and every catalogue, translate the new
# entries (pybabel marks them), then compile; the .mo files are committed so pip installs work.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
	  --project petitionkit --version 0.1.0 -o messages.pot .
	$(BIN)/pybabel update -i messages.pot -d petitionkit/translations --ignore-obsolete -w 100
	$(BIN)/pybabel compile -d petitionkit/translations --statistics
