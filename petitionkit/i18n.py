"""Which language to speak: the widget's ``lang``, then the browser's, then the petition's."""

from __future__ import annotations

from functools import lru_cache

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
    if chosen is None and "HTTP_ACCEPT_LANGUAGE" in request.environ:
        for tag, _quality in request.accept_languages:
            chosen = supported_locale(tag)
            if chosen:
                break
    if chosen is None:
        petitions = g.get("petitions_by_slug") or {}
        for petition in petitions.values():
            if petition is not None:
                chosen = supported_locale(petition.locale)
    return chosen or str(current_app.config["BABEL_DEFAULT_LOCALE"])


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
