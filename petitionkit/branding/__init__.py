"""The organisation's look on the hosted pages, from settings: no fork, no third party.

Name, address, logo, accent colour and footer links (privacy notice, imprint, contact) come from
the configuration (docs/configuration.md, "Branding"); the accent reaches the pages through
``/brand.css``, a stylesheet of the engine's own origin, so the pages' Content-Security-Policy
stays ``style-src 'self'``. Deeper changes override templates from the instance folder
(docs/branding.md names the override points).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from petitionkit.registry import Slot

_HEX = re.compile(r"^#([0-9a-fA-F]{6})$")
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
              ".jpeg": "image/jpeg", ".webp": "image/webp"}
FOOTER_LINKS = ("PRIVACY_URL", "IMPRINT_URL", "CONTACT_URL")
MAX_LOGO_BYTES = 512 * 1024


class BrandingError(ValueError):
    """A branding setting the engine cannot use; the message names the setting."""


@dataclass(frozen=True)
class Branding:
    name: str = ""
    url: str = ""
    logo_path: str = ""  # absolute path of the logo file, "" for none
    logo_alt: str = ""
    accent: str = ""  # "#rrggbb" or ""
    privacy_url: str = ""
    imprint_url: str = ""
    contact_url: str = ""

    @classmethod
    def from_config(cls, config: dict[str, Any], instance_path: str) -> Branding:
        name = str(config.get("ORGANIZATION_NAME") or "").strip()
        if len(name) > 120:
            raise BrandingError("ORGANIZATION_NAME must be at most 120 characters")
        links = {key: _web_address(key, config.get(key)) for key in (*FOOTER_LINKS,
                                                                      "ORGANIZATION_URL")}
        accent = str(config.get("BRAND_ACCENT") or "").strip()
        if accent and not _HEX.match(accent):
            raise BrandingError(f"BRAND_ACCENT must be a colour such as #0b5cad, not {accent!r}")
        return cls(
            name=name, url=links["ORGANIZATION_URL"],
            logo_path=_logo(config.get("BRAND_LOGO"), instance_path),
            logo_alt=str(config.get("BRAND_LOGO_ALT") or name),
            accent=accent.lower(), privacy_url=links["PRIVACY_URL"],
            imprint_url=links["IMPRINT_URL"], contact_url=links["CONTACT_URL"],
        )

    @property
    def logo_type(self) -> str:
        return LOGO_TYPES[os.path.splitext(self.logo_path)[1].lower()] if self.logo_path else ""

    def stylesheet(self) -> str:
        """The custom properties that carry the accent; empty without one."""
        if not self.accent:
            return ""
        # Text on the accent (the sign button) is black or white, whichever reads better; the
        # accent colours links only where it keeps 4.5:1 against the white page.
        foreground = "#ffffff" if _contrast(self.accent, "#ffffff") >= _contrast(
            self.accent, "#000000") else "#000000"
        rules = [f"--pk-accent: {self.accent};", f"--pk-accent-fg: {foreground};"]
        if _contrast(self.accent, "#ffffff") >= 4.5:
            rules.append(f"--pk-link: {self.accent};")
        # Light pages only: a dark theme keeps its own palette, made to read on dark.
        declarations = " ".join(rules)
        return (f".pk-theme-light {{ {declarations} }}\n"
                f"@media (prefers-color-scheme: light) {{ .pk-theme-auto {{ {declarations} }} }}\n")


def _web_address(key: str, value: object) -> str:
    if value in (None, ""):
        return ""
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BrandingError(f"{key} must be a web address such as https://www.example.org/, "
                            f"not {value!r}")
    return str(value)


def _logo(value: object, instance_path: str) -> str:
    if value in (None, ""):
        return ""
    path = os.path.join(instance_path, str(value))
    if os.path.splitext(path)[1].lower() not in LOGO_TYPES:
        raise BrandingError(f"BRAND_LOGO must be an SVG, PNG, JPEG or WebP file, not {value!r}")
    if not os.path.isfile(path):
        raise BrandingError(f"BRAND_LOGO: no file {value!r} in the instance folder")
    if os.path.getsize(path) > MAX_LOGO_BYTES:
        raise BrandingError("BRAND_LOGO is larger than 512 KB; use a smaller file")
    return os.path.abspath(path)


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two colours."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


BRANDING: Slot[Branding] = Slot("petitionkit.branding", Branding)
