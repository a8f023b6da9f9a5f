"""Personal data sealed to a public key (libsodium sealed boxes, through PyNaCl).

A process holding only the public key can seal (the web processes: they write what they cannot
read); opening needs the private key (the worker that sends mail and pushes CRMs, exports, the
hand-over report). Keys live in files of one line of base64; see docs/privacy.md.
"""

from __future__ import annotations

import binascii
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from nacl.encoding import Base64Encoder
from nacl.exceptions import CryptoError
from nacl.exceptions import ValueError as NaClValueError
from nacl.public import PrivateKey, PublicKey, SealedBox

from petitionkit.registry import Slot

# Which key pair: the signers' personal data, or the confidential stories.
DATA = "data"
STORIES = "stories"
KEY_SETS = (DATA, STORIES)


class KeyUnavailable(RuntimeError):  # noqa: N818 - says what happened, like the messages
    """A key file that is missing or unreadable, or a ciphertext that does not open."""


def key_file_names(which: str) -> tuple[str, str]:
    """The public and private key files' names of a key pair (``data`` or ``stories``)."""
    if which not in KEY_SETS:
        raise ValueError(f"unknown key pair {which!r}")
    return f"{which}.pub", f"{which}.key"


def generate_key_pair(directory: str | os.PathLike[str], which: str = DATA) -> tuple[Path, Path]:
    """Write a new key pair into ``directory``; the private key readable by its owner only.

    Refuses to overwrite: a lost private key is data that can never be read again.
    """
    public_name, private_name = key_file_names(which)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    public_path, private_path = folder / public_name, folder / private_name
    for path in (public_path, private_path):
        if path.exists():
            raise KeyUnavailable(f"{path} exists already; move it away first (keys are never "
                            "overwritten: what was sealed to them could no longer be read)")
    private_key = PrivateKey.generate()
    # The private key file is created 0600 from the start, never chmod-ed after being written.
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(private_key.encode(Base64Encoder).decode() + "\n")
    public_path.write_text(private_key.public_key.encode(Base64Encoder).decode() + "\n")
    return public_path, private_path


def ensure_key_pair(directory: str | os.PathLike[str], which: str = DATA) -> tuple[Path, Path]:
    """The key pair in ``directory``, generated when neither file is there (``make demo``, the
    test instances); one file without the other is an error, never silently replaced."""
    public_name, private_name = key_file_names(which)
    public_path, private_path = Path(directory) / public_name, Path(directory) / private_name
    if public_path.exists() and private_path.exists():
        return public_path, private_path
    return generate_key_pair(directory, which)


def _read_key_bytes(path: Path, what: str, setting: str) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise KeyUnavailable(
            f"this process needs the {what} ({setting}), but {path} does not exist. "
            "Create a key pair with `petitionkit keys generate` (see docs/privacy.md)."
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise KeyUnavailable(f"cannot read the {what} in {path}: {error}") from error
    try:
        raw = Base64Encoder.decode(text.encode())
    except (binascii.Error, ValueError) as error:
        raise KeyUnavailable(f"{path} is not one line of base64 ({what})") from error
    if len(raw) != 32:
        raise KeyUnavailable(f"{path} does not hold a {what}: 32 bytes expected, {len(raw)} found")
    return raw


def read_public_key(path: str | os.PathLike[str], setting: str = "DATA_PUBLIC_KEY_FILE"
                    ) -> PublicKey:
    return PublicKey(_read_key_bytes(Path(path), "public key", setting))


def read_private_key(path: str | os.PathLike[str], setting: str = "DATA_PRIVATE_KEY_FILE"
                     ) -> PrivateKey:
    return PrivateKey(_read_key_bytes(Path(path), "private key", setting))


@dataclass
class Sealer:
    """Seals and, with the private key, opens one key pair's data.

    The key files are read on first use, so a web process never asks for the private key and a
    command that needs neither key (``keys generate``) starts without them. A process that needs
    a key it lacks stops with a message naming the setting; nothing is ever stored unsealed.
    """

    public_key_file: Path
    private_key_file: Path | None
    public_setting: str = "DATA_PUBLIC_KEY_FILE"
    private_setting: str = "DATA_PRIVATE_KEY_FILE"
    _seal_box: SealedBox[PublicKey] | None = field(default=None, repr=False)
    _open_box: SealedBox[PrivateKey] | None = field(default=None, repr=False)

    def seal(self, plaintext: bytes) -> bytes:
        if self._seal_box is None:
            self._seal_box = SealedBox(read_public_key(self.public_key_file, self.public_setting))
        return bytes(self._seal_box.encrypt(plaintext))

    def open(self, ciphertext: bytes) -> bytes:
        box = self.opener()
        try:
            return bytes(box.decrypt(bytes(ciphertext)))
        except (CryptoError, NaClValueError) as error:
            raise KeyUnavailable(
                "sealed data does not open with the private key in "
                f"{self.private_key_file}: it was sealed to another key pair "
                "(see `petitionkit keys rotate`) or is damaged"
            ) from error

    def opener(self) -> SealedBox[PrivateKey]:
        """The private key's box; stops with a clear message when this process has none."""
        if self._open_box is None:
            if self.private_key_file is None:
                raise KeyUnavailable(
                    f"this process needs the private key ({self.private_setting}) to read "
                    "signers' personal data, and has none configured (see docs/privacy.md)"
                )
            private_key = read_private_key(self.private_key_file, self.private_setting)
            public_key = read_public_key(self.public_key_file, self.public_setting)
            if private_key.public_key != public_key:
                raise KeyUnavailable(
                    f"the private key in {self.private_key_file} does not belong to the public "
                    f"key in {self.public_key_file}"
                )
            self._open_box = SealedBox(private_key)
        return self._open_box

    def seal_json(self, value: Any) -> bytes:
        return self.seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())

    def open_json(self, ciphertext: bytes) -> Any:
        return json.loads(self.open(ciphertext))

    @classmethod
    def from_config(cls, app: Flask, which: str = DATA) -> Sealer:
        """The key files of ``which`` as configured; the public key is by default ``data.pub``
        (``stories.pub``) in the instance folder, the private key has no default."""
        public_name, _ = key_file_names(which)
        prefix = which.upper()
        instance = Path(app.instance_path)
        # Relative paths are relative to the instance folder, like the default.
        public = instance / (app.config.get(f"{prefix}_PUBLIC_KEY_FILE") or public_name)
        # No default for the private key: a process holds it only when told to, so that a
        # web process given both keys is a choice written in its configuration.
        private = app.config.get(f"{prefix}_PRIVATE_KEY_FILE")
        return cls(
            public_key_file=public,
            private_key_file=instance / private if private else None,
            public_setting=f"{prefix}_PUBLIC_KEY_FILE",
            private_setting=f"{prefix}_PRIVATE_KEY_FILE",
        )


# What the app holds of this module's, read with .of() (see petitionkit/registry.py).
DATA_SEALER: Slot[Sealer] = Slot("petitionkit.data_sealer", Sealer)
