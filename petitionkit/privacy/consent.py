"""The consent wording each signer was shown, recorded once per wording and language.

The signing path asks ``ConsentTexts.id_for`` for the version of the wording it renders; each
process remembers the versions it has met, so after the first signing with a wording the cost
is one dictionary lookup.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, Row

from petitionkit.i18n import current_locale_name
from petitionkit.petitions.models import Petition, utcnow
from petitionkit.privacy.models import ConsentText
from petitionkit.registry import Slot

# The consent question of a petition without wording of its own, in the page's language.
DEFAULT_CONSENT = _l("Keep me updated about this campaign")


@dataclass(frozen=True)
class ConsentWording:
    text: str
    locale: str

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(f"{self.locale}\0{self.text}".encode()).hexdigest()


def consent_wording(petition: Petition) -> ConsentWording:
    """What the signing form shows beside the consent box, in the request's language: the
    petition's own wording (written in the petition's language), or the default question
    translated. Needs a request or ``force_locale`` context."""
    if petition.consent_text:
        return ConsentWording(petition.consent_text, petition.locale)
    return ConsentWording(str(DEFAULT_CONSENT), current_locale_name())


class ConsentTexts:
    """This process's memory of the stored wordings, by language and text."""

    # Wordings are few (one per petition and language); the bound only guards the memory
    # against a file reloaded with a new wording over and over.
    MAX_REMEMBERED = 10_000

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def id_for(self, engine: Engine, petition: Petition, locale: str) -> int:
        """The version of the wording ``petition``'s form shows in ``locale`` (the current
        request's language), stored on its first use by any process.

        Known wordings are found by the petition's own text or the language alone, without
        rendering the default question again: the signing path pays one dictionary lookup.
        """
        own = petition.consent_text
        key = (petition.locale, own) if own else (locale, "")
        found = self._ids.get(key)
        if found is None:
            found = store_wording(engine, consent_wording(petition))
            with self._lock:
                if len(self._ids) >= self.MAX_REMEMBERED:
                    self._ids.clear()
                self._ids[key] = found
        return found


def store_wording(engine: Engine, wording: ConsentWording) -> int:
    """The id of ``wording``'s row, inserted unless it exists; concurrent first uses agree."""
    table = ConsentText.__table__
    values = {"text_hash": wording.text_hash, "text": wording.text, "locale": wording.locale,
              "first_seen": utcnow()}
    with engine.begin() as connection:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        connection.execute(
            dialect.insert(table).values(values).on_conflict_do_nothing(
                index_elements=["text_hash"])
        )
        return int(connection.execute(
            select(table.c.id).where(table.c.text_hash == wording.text_hash)
        ).scalar_one())


def stored_wordings(engine: Engine) -> Sequence[Row[Any]]:
    """Every stored wording (the columns of ``ConsentText``), oldest version first."""
    with engine.connect() as connection:
        return list(connection.execute(
            select(ConsentText.__table__).order_by(ConsentText.id)
        ).all())


# What the app holds of this module's, read with .of() (see petitionkit/registry.py).
CONSENT_TEXTS: Slot[ConsentTexts] = Slot("petitionkit.consent_texts", ConsentTexts)
