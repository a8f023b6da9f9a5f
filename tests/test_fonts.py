"""The hosted pages' typefaces: served by the engine, declared per script, not in the widget."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

FACE = re.compile(r"@font-face\s*{(?P<body>[^}]*)}")


def _faces(css: str) -> list[dict[str, str]]:
    faces = []
    for match in FACE.finditer(css):
        declarations = {}
        for declaration in match["body"].split(";"):
            name, _, value = declaration.partition(":")
            if value:
                declarations[name.strip()] = " ".join(value.split())
        faces.append(declarations)
    return faces


def test_hosted_pages_load_the_engines_fonts_and_the_widget_does_not(
    client: FlaskClient, petition: str
) -> None:
    for path in ("/", f"/p/{petition}"):
        html = client.get(path).get_data(as_text=True)
        assert re.search(r'<link rel="stylesheet" href="/static/fonts\.css[^"]*">', html), path
    embed = client.get(f"/embed/{petition}").get_data(as_text=True)
    assert "fonts.css" not in embed and "woff2" not in embed


def test_every_face_is_a_woff2_file_of_the_engine_with_a_unicode_range(
    client: FlaskClient,
) -> None:
    with client.get("/static/fonts.css") as answer:
        assert answer.status_code == 200 and answer.mimetype == "text/css"
        faces = _faces(answer.get_data(as_text=True))
    families = {face["font-family"] for face in faces}
    assert families == {'"PK Inter"', '"PK Noto Sans Arabic"'}
    for face in faces:
        assert face["font-display"] == "swap"
        [source] = re.findall(r'url\("([^"]+)"\) format\("woff2"\)', face["src"])
        assert "//" not in source, "fonts come from the engine, never a third party"
        with client.get(f"/static/{source}") as font:
            assert font.status_code == 200
            data = font.data
        assert data[:4] == b"wOF2", f"{source} is not a WOFF2 file"
        assert 10_000 < len(data) < 80_000, f"{source} is {len(data)} bytes"
        assert face["unicode-range"].startswith("U+")
    arabic = [face for face in faces if "Arabic" in face["font-family"]]
    # The Arabic files are fetched for Arabic letters only, never for Latin text.
    assert all("U+0000" not in face["unicode-range"] and "U+0600-06FF" in face["unicode-range"]
               for face in arabic)
    assert {face["font-weight"] for face in faces} == {"400", "700"}


def test_the_fonts_licence_ships_with_them(client: FlaskClient) -> None:
    with client.get("/static/fonts/OFL.txt") as licence:
        assert licence.status_code == 200
        assert b"SIL OPEN FONT LICENSE Version 1.1" in licence.data
