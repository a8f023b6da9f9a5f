"""An export written as it is read: for a download, where the exporter's ``write`` pushes text
into a file-like object and the HTTP response pulls text from an iterator.

The exporter runs in a thread of its own, with an app context and a database session of its
own, and hands its text over through a small bounded queue: a million signers never sit in
memory, and a slow client slows the export down instead of filling memory. When the client goes
away the next write stops the thread.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TextIO, cast

from flask import Flask

from petitionkit.export import Exporter, ExportRecord, SignatureStream
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition

CHUNK = 64 * 1024
_DONE = object()


class _Stopped(Exception):
    """The reader went away; the export stops."""


class _QueueWriter(io.TextIOBase):
    def __init__(self, chunks: queue.Queue[object], stop: threading.Event) -> None:
        self._chunks = chunks
        self._stop = stop
        self._parts: list[str] = []
        self._size = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self._stop.is_set():
            raise _Stopped()
        self._parts.append(text)
        self._size += len(text)
        if self._size >= CHUNK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._parts:
            self._put("".join(self._parts))
            self._parts, self._size = [], 0

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue
        raise _Stopped()


def stream_export(app: Flask, petition_id: int, exporter: Exporter) -> Iterator[str]:
    """The text of ``exporter``'s file of the petition's confirmed signatures, in chunks."""
    chunks: queue.Queue[object] = queue.Queue(maxsize=8)
    stop = threading.Event()
    failure: list[BaseException] = []

    def produce() -> None:
        writer = _QueueWriter(chunks, stop)
        try:
            with app.app_context():
                session = db.session()
                petition = session.get(Petition, petition_id)
                assert petition is not None
                records: Iterable[ExportRecord] = SignatureStream(session, petition)
                if exporter.skip is not None:
                    skip = exporter.skip
                    records = (record for record in records if skip(record) is None)
                exporter.write(petition, records, cast(TextIO, writer))
                writer.flush()
        except _Stopped:
            return
        except BaseException as error:  # handed to the reader, which raises it
            failure.append(error)
        finally:
            try:
                chunks.put(_DONE, timeout=5)
            except queue.Full:
                pass

    thread = threading.Thread(target=produce, name="export-download", daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is _DONE:
                break
            assert isinstance(item, str)
            yield item
        if failure:
            raise failure[0]
    finally:
        stop.set()
        thread.join(timeout=10)
