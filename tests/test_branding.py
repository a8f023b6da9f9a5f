"""Branding from settings: header, logo, accent colour, footer links, template overrides."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from petitionkit.branding import Branding, BrandingError
from petitionkit.config import ConfigurationError

from .conftest import add_petition, make_app

LOGO = ('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">'
        '<rect width="40" height="40" fill="#b3261e"/><script>alert(1)</script></svg>')
BRAND: dict[str, Any] = {
    "ORGANIZATION_NAME": "Lantern <Rights> Network",
    "ORGANIZATION_URL": "https://lantern.example.org/",
    "BRAND_LOGO": "logo.svg",
    "BRAND_LOGO_ALT": "Lantern",
    "BRAND_ACCENT": "#B3261E",
    "PRIVACY_URL": "https://lantern.example.org/privacy",
    "IMPRINT_URL": "https://lantern.example.org/imprint",
    "CONTACT_URL": "https://lantern.example.org/contact",
}


def branded_app(tmp_path: Path, migrated_sqlite: Path, **settings: Any) -> Flask:
    (tmp_path / "instance").mkdir(exist_ok=True)
    (tmp_path / "instance" / "logo.svg").write_text(LOGO, encoding="utf-8")
    return make_app(tmp_path, migrated_sqlite, **{**BRAND, **settings})


def test_the_page_carries_the_organisations_name_logo_colour_and_links(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app = branded_app(tmp_path, migrated_sqlite)
    slug = add_petition(app)
    client = app.test_client()
    page = client.get(f"/p/{slug}").text
    assert '<a class="brand" href="https://lantern.example.org/">' in page
    assert '<img src="/brand/logo" alt="Lantern" height="40">' in page
    assert '<span class="brand-name">Lantern &lt;Rights&gt; Network</span>' in page
    assert '<a href="https://lantern.example.org/privacy">Privacy notice</a>' in page
    assert "A campaign of Lantern &lt;Rights&gt; Network" in page
    assert '<link rel="stylesheet" href="/brand.css">' in page
    css = client.get("/brand.css")
    assert css.mimetype == "text/css" and "--pk-accent: #b3261e;" in css.text
    assert "--pk-accent-fg: #ffffff;" in css.text and "--pk-link: #b3261e;" in css.text
    assert "prefers-color-scheme: light" in css.text, "dark pages keep their own palette"
    assert client.get("/brand.css", headers={"If-None-Match": css.headers["ETag"]}).status_code \
        == 304
    with client.get("/brand/logo") as logo:
        assert logo.status_code == 200 and logo.mimetype == "image/svg+xml"
        assert "sandbox" in logo.headers["Content-Security-Policy"], "an SVG never runs a script"
        assert logo.data == LOGO.encode()
    front = client.get("/", headers={"Accept-Language": "fr"}).text
    assert "Politique de confidentialité" in front or "confidentialit" in front


def test_a_pale_accent_gets_dark_text_and_does_not_colour_links() -> None:
    css = Branding(accent="#ffd54f").stylesheet()
    assert "--pk-accent-fg: #000000;" in css
    assert "--pk-link" not in css, "yellow links on white would be unreadable"


def test_without_branding_there_is_no_header_footer_or_stylesheet(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app = make_app(tmp_path, migrated_sqlite)
    slug = add_petition(app)
    client = app.test_client()
    page = client.get(f"/p/{slug}", headers={"Accept-Language": "en"}).text
    assert "site-header" not in page and "site-footer" not in page and "brand.css" not in page
    assert client.get("/brand/logo").status_code == 404
    assert client.get("/brand.css").text == ""


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("BRAND_ACCENT", "red", "BRAND_ACCENT must be a colour such as #0b5cad"),
    ("BRAND_ACCENT", "#12345g", "BRAND_ACCENT must be a colour"),
    ("BRAND_ACCENT", "#fff;}body{display:none", "BRAND_ACCENT must be a colour"),
    ("PRIVACY_URL", "javascript:alert(1)", "PRIVACY_URL must be a web address"),
    ("ORGANIZATION_URL", "//lantern.example.org", "ORGANIZATION_URL must be a web address"),
    ("BRAND_LOGO", "missing.png", "BRAND_LOGO: no file 'missing.png'"),
    ("BRAND_LOGO", "config.py", "BRAND_LOGO must be an SVG, PNG, JPEG or WebP file"),
    ("ORGANIZATION_NAME", "x" * 121, "ORGANIZATION_NAME must be at most 120 characters"),
])
def test_settings_the_engine_cannot_use_stop_it_with_a_clear_message(
    tmp_path: Path, migrated_sqlite: Path, setting: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        branded_app(tmp_path, migrated_sqlite, **{setting: value})


def test_a_huge_logo_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big.png").write_bytes(b"\x89PNG" + b"\0" * (600 * 1024))
    with pytest.raises(BrandingError, match="larger than 512 KB"):
        Branding.from_config({"BRAND_LOGO": "big.png"}, str(tmp_path))


def test_templates_in_the_instance_folder_replace_the_engines(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    templates = tmp_path / "instance" / "templates"
    templates.mkdir(parents=True)
    (templates / "base.html").write_text(
        (Path(__file__).parent.parent / "petitionkit" / "templates" / "base.html")
        .read_text(encoding="utf-8")
        .replace("{% block footer %}", "{% block footer %}<p class='ours'>Our own footer</p>"),
        encoding="utf-8")
    app = make_app(tmp_path, migrated_sqlite)
    slug = add_petition(app)
    page = app.test_client().get(f"/p/{slug}").text
    assert "<p class='ours'>Our own footer</p>" in page
    assert "Add your name" in page, "the rest of the page is the engine's"
