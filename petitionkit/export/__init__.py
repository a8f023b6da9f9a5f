"""Bulk export of signatures: the formats plugins offer and the stream they write from."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.orm import Session

from petitionkit.encryption import DATA_SEALER, Sealer
from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import CONFIRMED, PersonalData, Signature
from petitionkit.signatures.normalize import shown_name

# One exported signature. Datetimes are timezone-aware UTC; ``extra`` holds plugin form fields;
# ``name`` is the name as shown to others (``shown_name``), the other fields are as stored.
ExportRecord = Mapping[str, Any]

EXPORT_FIELDS: tuple[str, ...] = (
    "signature_id", "petition", "kind", "organization", "organization_url", "status", "name",
    "email", "country", "postal_code", "locale", "source", "site", "consent_updates",
    "consent_version", "consent_text", "show_name", "signed_at", "confirmed_at", "approved_at",
    "extra",
)


@dataclass(frozen=True)
class Exporter:
    """A format for ``petitionkit export``.

    ``write(petition, records, out)`` consumes ``records`` one at a time and writes text to
    ``out`` as it goes: records come from the database in pages, so holding them all would defeat
    the constant-memory promise. It writes every record it gets.

    ``skip(record)``, when given, says why a record is left out of this format, as the end of
    "N skipped because …" (``"the signer did not consent to be contacted"``), or ``None`` to
    write it. The command applies it before ``write`` and reports what was written and what was
    skipped for which reason, so the operator's figures are those of the file.
    """

    name: str
    description: str
    extension: str
    write: Callable[[Petition, Iterable[ExportRecord], TextIO], None]
    skip: Callable[[ExportRecord], str | None] | None = None


class CursorError(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    """Where an export stopped: ``C<confirmed µs>-<id>`` for confirmed, ``A<id>`` for all."""

    confirmed_at: datetime | None
    signature_id: int

    def __str__(self) -> str:
        if self.confirmed_at is None:
            return f"A{self.signature_id}"
        micros = int(self.confirmed_at.timestamp() * 1_000_000)
        return f"C{micros}-{self.signature_id}"

    @classmethod
    def parse(cls, text: str, *, include_unconfirmed: bool) -> Cursor:
        try:
            if text.startswith("A") and include_unconfirmed:
                return cls(None, int(text[1:]))
            if text.startswith("C") and not include_unconfirmed:
                micros, signature_id = text[1:].split("-")
                moment = datetime.fromtimestamp(int(micros) / 1_000_000, UTC)
                return cls(moment, int(signature_id))
        except ValueError as error:
            raise CursorError(f"{text!r} is not a cursor printed by petitionkit export") from error
        kind = "--all" if text.startswith("A") else "confirmed-only"
        raise CursorError(
            f"{text!r} is not a cursor for this kind of export (it came from a {kind} export)"
            if text[:1] in ("A", "C") else f"{text!r} is not a cursor printed by petitionkit export"
        )


_COLUMNS = (
    Signature.id, Signature.kind, Signature.organization, Signature.organization_url,
    Signature.status, Signature.sealed, Signature.country, Signature.locale, Signature.source,
    Signature.site, Signature.consent_updates, Signature.consent_version, Signature.consent_text_id,
    Signature.show_name, Signature.created_at, Signature.confirmed_at, Signature.approved_at,
    Signature.plain_extra,
)


class SignatureStream:
    """Signatures of one petition in pages of ``page_size``: memory stays flat at any size.

    Confirmed ones are ordered by (confirmed_at, id), so a later ``--since`` picks up signatures
    confirmed after the export, whatever their id; with ``include_unconfirmed`` every signature
    is ordered by id. Personal data is opened with ``sealer``'s private key (by default the
    current app's), so an export runs only where that key is.
    """

    def __init__(
        self,
        session: Session,
        petition: Petition,
        *,
        since: Cursor | None = None,
        include_unconfirmed: bool = False,
        page_size: int = 1000,
        sealer: Sealer | None = None,
    ) -> None:
        self.sealer = sealer if sealer is not None else DATA_SEALER.of()
        # Fails here, before the first row, when this process has no private key.
        self.sealer.opener()
        self.session = session
        self.petition = petition
        self.since = since
        self.include_unconfirmed = include_unconfirmed
        self.page_size = page_size
        self.last: Cursor | None = since

    def _base_filter(self) -> Any:
        # An erased signature, or one whose personal data retention removed, has nothing left
        # to export, --all or not.
        condition = and_(Signature.petition_id == self.petition.id,
                         Signature.erased_at.is_(None), Signature.anonymised_at.is_(None))
        if not self.include_unconfirmed:
            condition = and_(condition, Signature.status == CONFIRMED)
        return condition

    def _after(self, cursor: Cursor | None) -> Any:
        if cursor is None:
            return True
        if self.include_unconfirmed or cursor.confirmed_at is None:
            return Signature.id > cursor.signature_id
        # A row value, not the equivalent OR: SQLite can then start the index range at the
        # cursor, where the OR made every page scan the petition's signatures from the first.
        return tuple_(Signature.confirmed_at, Signature.id) > (
            cursor.confirmed_at, cursor.signature_id
        )

    def count(self) -> int:
        total = self.session.scalar(
            select(func.count(Signature.id)).where(self._base_filter(), self._after(self.since))
        )
        return int(total or 0)

    def __iter__(self) -> Iterator[ExportRecord]:
        order = (
            (Signature.id,) if self.include_unconfirmed
            else (Signature.confirmed_at, Signature.id)
        )
        cursor = self.since
        while True:
            rows = self.session.connection().execute(
                select(*_COLUMNS)
                .where(self._base_filter(), self._after(cursor))
                .order_by(*order)
                .limit(self.page_size)
            ).all()
            if not rows:
                return
            slug = self.petition.slug
            for row in rows:
                record = _record(row, slug, self.sealer)
                cursor = Cursor(
                    None if self.include_unconfirmed else record["confirmed_at"], row.id
                )
                self.last = cursor
                yield record
            if len(rows) < self.page_size:
                return


def _record(row: Any, slug: str, sealer: Sealer) -> ExportRecord:
    # Unpacked by position, in the order of _COLUMNS: a million rows each read a dozen fields.
    (signature_id, kind, organization, organization_url, status, sealed, country, locale, source,
     site, consent_updates, consent_version, consent_text_id, show_name, created_at, confirmed_at,
     approved_at, extra) = row
    personal = PersonalData.from_json(sealer.open_json(sealed))
    return {
        "signature_id": signature_id,
        "petition": slug,
        "kind": kind,
        # An organisation's name and website (a joint letter's signatory); ``name`` and
        # ``email`` are then its contact person's.
        "organization": organization,
        "organization_url": organization_url,
        "status": status,
        "name": shown_name(personal.name),
        "email": personal.email,
        "country": country,
        "postal_code": personal.postal_code,
        "locale": locale,
        "source": source,
        # The host of the page that embedded the widget, as the signer's browser named it.
        "site": site,
        "consent_updates": bool(consent_updates),
        "consent_version": consent_version,
        "consent_text": consent_text_id,
        "show_name": bool(show_name),
        "signed_at": created_at,
        "confirmed_at": confirmed_at,
        "approved_at": approved_at,
        "extra": {**(extra or {}), **personal.extra},
    }
