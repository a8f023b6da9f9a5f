"""Which language to speak: the visitor's choice (``lang``), then the petition's, then the browser's

A petition is written in one language; its page speaks that language by default, so an English
browser on a Chinese petition sees Chinese buttons around the Chinese text, and a visible switch
offers the visitor's own language (``language_switch``). The JSON API has no page to switch on:
there the browser's language comes before the petition's."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlencode

from babel import Locale
from flask import current_app, g, has_request_context, request
from flask_babel import get_locale
from werkzeug.exceptions import HTTPException

# Browsers say zh-CN or zh-TW; our catalogues are by script.
_CHINESE = {
    "zh-cn": "zh_Hans", "zh-sg": "zh_Hans", "zh-hans": "zh_Hans", "zh": "zh_Hans",
    "zh-tw": "zh_Hant", "zh-hk": "zh_Hant", "zh-mo": "zh_Hant", "zh-hant": "zh_Hant",
}
RTL_LANGUAGES = {"ar", "he", "fa", "ur", "ug", "ps", "yi", "dv", "ku"}


def supported_locale(tag: str | None) -> str | None:
    if not tag:
        return None
    languages: list[str] = current_app.config["LANGUAGES"]
    normalized = tag.replace("_", "-").strip().lower()
    if normalized in _CHINESE:
        return _CHINESE[normalized]
    for language in languages:
        if language.lower().replace("_", "-") == normalized:
            return language
    base = normalized.split("-")[0]
    return base if base in languages else None


def select_locale() -> str:
    if not has_request_context():
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    # ``in`` before reading: a missing key costs Werkzeug an exception, on every signing.
    asked = request.query_string and "lang" in request.args
    chosen = supported_locale(request.args["lang"]) if asked else None
    if chosen is None and request.method == "POST":
        chosen = supported_locale(_body_lang())
    api = request.path.startswith("/api/")
    if chosen is None and not api:
        chosen = _petition_locale()
    if chosen is None:
        chosen = visitor_locale()
    if chosen is None and api:
        chosen = _petition_locale()
    return chosen or str(current_app.config["BABEL_DEFAULT_LOCALE"])


def _petition_locale() -> str | None:
    petitions = g.get("petitions_by_slug") or {}
    for petition in petitions.values():
        if petition is not None:
            return supported_locale(petition.locale)
    return None


def visitor_locale() -> str | None:
    """The first of the browser's languages (Accept-Language) that the engine speaks."""
    if "HTTP_ACCEPT_LANGUAGE" not in request.environ:
        return None
    for tag, _quality in request.accept_languages:
        chosen = supported_locale(tag)
        if chosen:
            return chosen
    return None


def language_switch() -> list[tuple[str, str, str]]:
    """Links to the page in the other languages a visitor may want: the petition's and the
    browser's, each as (locale, its name in itself, URL); none when the page speaks both."""
    if not has_request_context() or request.method != "GET":
        return []
    current = current_locale_name()
    wanted = [_petition_locale(), visitor_locale()]
    links = []
    for locale in dict.fromkeys(w for w in wanted if w and w != current):
        args = request.args.to_dict()
        args["lang"] = locale
        links.append((locale, native_name(locale), f"{request.path}?{urlencode(args)}"))
    return links


@lru_cache(maxsize=64)
def native_name(locale: str) -> str:
    name = Locale.parse(locale).get_display_name(locale) or locale
    return name[:1].upper() + name[1:]


def select_babel_locale() -> Locale:
    """``select_locale`` for Flask-Babel, as a parsed locale: each is parsed once per process."""
    return _parsed_locale(select_locale())


@lru_cache(maxsize=64)
def _parsed_locale(name: str) -> Locale:
    return Locale.parse(name)


def _body_lang() -> str | None:
    """The ``lang`` field of a posted form or JSON object (the widget sends its language)."""
    try:
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return request.form["lang"] if "lang" in request.form else None
        if request.is_json:
            body = request.get_json(silent=True)
            lang = body.get("lang") if isinstance(body, dict) else None
            return lang if isinstance(lang, str) else None
    except HTTPException:
        # The body is being refused (too large): the refusal is then worded by Accept-Language.
        return None
    return None


def current_locale_name() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def text_direction(locale_name: str | None = None) -> str:
    language = (locale_name or current_locale_name()).split("_")[0].split("-")[0]
    return "rtl" if language in RTL_LANGUAGES else "ltr"
