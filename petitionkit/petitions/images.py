"""A petition's picture: read once from the petition file's folder, resized, stripped, stored.

The file is decoded with Pillow, turned the right way up, resized to at most 1200 x 1200 pixels
(what link previews show, 1200 x 630 at best) and written as a JPEG without metadata: a photo's
EXIF can hold where and when it was taken, which for the families of detained people is itself
sensitive. The bytes live in the database, so every web server of a deployment serves the same
picture from its own origin (no hotlinking, no third party); its address changes with its content,
so browsers and CDNs may keep it for a year.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from petitionkit.extensions import db

MAX_FILE_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a decompression bomb is refused before it is decoded
LONGEST_SIDE = 1200
FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
CONTENT_TYPE = "image/jpeg"


class ImageProblem(ValueError):
    """Why a picture cannot be used, in words for the person who chose it."""


@dataclass(frozen=True)
class PreparedImage:
    data: bytes
    width: int
    height: int

    @property
    def version(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:16]


class PetitionImage(db.Model):  # type: ignore[name-defined]
    __tablename__ = "petition_images"

    petition_id: Mapped[int] = mapped_column(
        ForeignKey("petitions.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(40), default=CONTENT_TYPE)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


def prepare_image(path: Path) -> PreparedImage:
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ImageProblem(f"no picture at {path.name}") from error
    if size > MAX_FILE_BYTES:
        raise ImageProblem(f"{path.name} is larger than 15 MB")
    return prepare_image_bytes(path.read_bytes(), path.name)


def prepare_image_bytes(raw: bytes, name: str = "the picture") -> PreparedImage:
    if len(raw) > MAX_FILE_BYTES:
        raise ImageProblem(f"{name} is larger than 15 MB")
    try:
        with warnings.catch_warnings():
            # Pillow warns of a picture it finds too large, then refuses a larger one: both are
            # refused here, before anything is decoded.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _prepare(raw, name)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageProblem(f"{name} has too many pixels (at most 50 million)") from error


def _prepare(raw: bytes, name: str) -> PreparedImage:
    try:
        with Image.open(io.BytesIO(raw), formats=FORMATS) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ImageProblem(f"{name} has too many pixels (at most 50 million)")
            image.load()
            picture = ImageOps.exif_transpose(image) or image
            picture = _flatten(picture)
            picture.thumbnail((LONGEST_SIDE, LONGEST_SIDE), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            # No exif= and no icc_profile=: nothing but pixels leaves this function.
            picture.save(out, "JPEG", quality=82, optimize=True, progressive=True)
            return PreparedImage(out.getvalue(), picture.width, picture.height)
    except ImageProblem:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise ImageProblem(f"{name} is not a JPEG, PNG, WebP or GIF picture") from error


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white: JPEG has no transparency."""
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
