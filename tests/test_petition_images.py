"""A petition's picture: prepared once from the file, served by the engine, previewed by links."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from petitionkit.extensions import db
from petitionkit.petitions.images import PetitionImage
from petitionkit.petitions.loader import PetitionFileError, parse_petition_file, upsert_petition

from .conftest import make_app

FRONT = """---
title: Free the teacher
status: open
{image}---
Release her.
"""


def photo_with_location(path: Path, size: tuple[int, int] = (3000, 2000)) -> None:
    """A PNG with transparency and EXIF carrying a GPS position, as phones write them."""
    image = Image.new("RGBA", size, (200, 40, 30, 255))
    image.paste((0, 0, 0, 0), (0, 0, 300, 300))
    exif = Image.Exif()
    exif[0x8825] = {2: (48.0, 51.0, 24.0), 1: "N"}  # GPSInfo
    exif[0x010F] = "PhoneMaker"
    image.save(path, "PNG", exif=exif)


def petition_file(folder: Path, image: str) -> Path:
    path = folder / "teacher.md"
    path.write_text(FRONT.format(image=image), encoding="utf-8")
    return path


def load(app: Flask, path: Path) -> None:
    with app.app_context():
        upsert_petition(db.session, parse_petition_file(path))


def test_the_picture_is_resized_stripped_and_served_with_link_previews(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    photo_with_location(tmp_path / "rosa.png")
    app = make_app(tmp_path, migrated_sqlite, PUBLIC_URL="https://act.example.org")
    load(app, petition_file(tmp_path, "image:\n  file: rosa.png\n  alt: Rosa in her classroom\n"))
    client = app.test_client()
    page = client.get("/p/teacher").text
    with app.app_context():
        stored = db.session.scalar(select(PetitionImage))
        version = stored.version
    assert (stored.width, stored.height) == (1200, 800)
    url = f"/p/teacher/image.jpg?v={version}"
    assert f'<img class="petition-image" src="{url}"' in page.replace("&amp;", "&")
    assert 'alt="Rosa in her classroom" width="1200" height="800"' in page
    assert f'<meta property="og:image" content="https://act.example.org{url}">' in page
    assert '<meta property="og:image:width" content="1200">' in page
    assert '<meta property="og:image:alt" content="Rosa in her classroom">' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    answer = client.get(url)
    assert answer.mimetype == "image/jpeg"
    assert "immutable" in answer.headers["Cache-Control"]
    served = Image.open(io.BytesIO(answer.data))
    assert served.format == "JPEG" and served.size == (1200, 800)
    assert not served.getexif(), "no EXIF: a photo's GPS position never leaves the engine"
    assert b"PhoneMaker" not in answer.data
    assert served.getpixel((5, 5)) == pytest.approx((255, 255, 255), abs=8), "transparent → white"
    assert client.get(url, headers={"If-None-Match": f'"{version}"'}).status_code == 304
    assert "immutable" not in client.get("/p/teacher/image.jpg").headers["Cache-Control"]


def test_a_petition_without_a_picture_has_none_and_removing_it_deletes_it(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    photo_with_location(tmp_path / "rosa.png", (400, 300))
    app = make_app(tmp_path, migrated_sqlite)
    path = petition_file(tmp_path, "image:\n  file: rosa.png\n  alt: Rosa\n")
    load(app, path)
    client = app.test_client()
    assert client.get("/p/teacher/image.jpg").status_code == 200
    petition_file(tmp_path, "")
    load(app, path)
    assert client.get("/p/teacher/image.jpg").status_code == 404
    page = client.get("/p/teacher").text
    assert "og:image" not in page and '<meta name="twitter:card" content="summary">' in page
    with app.app_context():
        assert db.session.scalar(select(PetitionImage)) is None
    assert client.get("/p/nobody/image.jpg").status_code == 404


def bomb_png(width: int, height: int) -> bytes:
    """A tiny file claiming a huge picture: only the header is real."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))


@pytest.mark.parametrize(("image", "setup", "problem"), [
    ("image:\n  file: missing.jpg\n  alt: A\n", None, "image: no picture at missing.jpg"),
    ("image:\n  file: notes.jpg\n  alt: A\n", ("notes.jpg", b"<script>alert(1)</script>"),
     "image: notes.jpg is not a JPEG, PNG, WebP or GIF picture"),
    ("image:\n  file: bomb.png\n  alt: A\n", ("bomb.png", bomb_png(60000, 60000)),
     "image: bomb.png has too many pixels"),
    ("image:\n  file: huge.jpg\n  alt: A\n", ("huge.jpg", b"\xff" * (15 * 1024 * 1024 + 1)),
     "image: huge.jpg is larger than 15 MB"),
    ("image:\n  file: ../secret.png\n  alt: A\n", None, "image.file must be a file beside"),
    ("image:\n  file: /etc/passwd\n  alt: A\n", None, "image.file must be a file beside"),
    ("image:\n  file: rosa.png\n", None, "image.alt describes the picture"),
    ("image: rosa.png\n", None, "image must be a mapping"),
    ("image:\n  file: rosa.png\n  alt: A\n  link: x\n", None, "image has unknown keys: link"),
])
def test_pictures_the_engine_cannot_use_are_refused_with_a_clear_message(
    tmp_path: Path, image: str, setup: tuple[str, bytes] | None, problem: str
) -> None:
    if setup:
        (tmp_path / setup[0]).write_bytes(setup[1])
    with pytest.raises(PetitionFileError, match=problem.replace(".", r"\.")):
        parse_petition_file(petition_file(tmp_path, image))
