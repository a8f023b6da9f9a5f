"""Every catalogue is complete, well-formed and compiled from its current .po file, and the
template (messages.pot) holds exactly the strings the code and templates ask for."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from petitionkit.config import DEFAULTS

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "petitionkit" / "translations"
LOCALES = [name for name in DEFAULTS["LANGUAGES"] if name != DEFAULTS["BABEL_DEFAULT_LOCALE"]]
REGENERATE = "run `make messages`, translate what it marks, and commit the .po and .mo files"


def _ids(catalog: Catalog) -> set[object]:
    return {message.id for message in catalog if message.id}


def _key(value: object) -> object:
    """read_mo gives plural ids and forms as lists, read_po as tuples."""
    return tuple(value) if isinstance(value, list | tuple) else value


def _pot() -> Catalog:
    with open(ROOT / "messages.pot", "rb") as handle:
        return read_po(handle)


def _po(locale: str) -> Catalog:
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=locale)


def test_the_template_holds_every_string_in_the_sources() -> None:
    with open(ROOT / "babel.cfg") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = dict(DEFAULT_KEYWORDS, _l=None, lazy_gettext=None)
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        found.add(message)
    assert found, "extraction found nothing: is babel.cfg right?"
    pot_ids = _ids(_pot())
    assert found - pot_ids == set(), f"messages.pot lacks new strings: {REGENERATE}"
    assert pot_ids - found == set(), f"messages.pot keeps strings no longer used: {REGENERATE}"


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_is_complete_and_well_formed(locale: str) -> None:
    catalog = _po(locale)
    assert _ids(catalog) == _ids(_pot()), f"{locale} is out of step with messages.pot: {REGENERATE}"
    assert not catalog.fuzzy, f"{locale}: the catalogue is marked fuzzy"
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, f"{locale}: fuzzy translation of {message.id!r}"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{locale}: {message.id!r} is not translated"
        if isinstance(message.id, tuple):
            assert len(strings) == catalog.num_plurals, f"{locale}: plural forms of {message.id!r}"
    problems = [(message.id, errors) for message, errors in catalog.check()]
    assert problems == [], f"{locale}: placeholders do not match"


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogue_matches_its_source(locale: str) -> None:
    mo_path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"
    assert mo_path.is_file(), f"{locale}: messages.mo is missing: {REGENERATE}"
    with open(mo_path, "rb") as handle:
        compiled = read_mo(handle)
    source = {_key(message.id): _key(message.string) for message in _po(locale) if message.id}
    built = {_key(message.id): _key(message.string) for message in compiled if message.id}
    assert built == source, f"{locale}: messages.mo was not compiled from the current .po"
