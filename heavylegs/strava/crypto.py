"""Encryption at rest for Strava tokens (Fernet).

The key is ``HEAVYLEGS_SECRET_KEY`` (a Fernet key, or any passphrase, which is
stretched with SHA-256) or else ``<data dir>/secret.key``, created on first
use with mode 0600 so only the owner can read it.
"""
from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from heavylegs.settings import Settings

KEY_FILE = "secret.key"


class SecretKeyError(Exception):
    pass


def _as_fernet_key(text: str) -> bytes:
    raw = text.strip().encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except ValueError:
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


def _key_file(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes creating the key at once must not end up with different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return key


def fernet(settings: Settings) -> Fernet:
    configured = settings.secret_key
    key = _as_fernet_key(configured) if configured else _key_file(settings.data_dir / KEY_FILE)
    return Fernet(key)


def encrypt(settings: Settings, data: bytes) -> bytes:
    return fernet(settings).encrypt(data)


def decrypt(settings: Settings, token: bytes) -> bytes:
    try:
        return fernet(settings).decrypt(token)
    except InvalidToken as exc:
        raise SecretKeyError("cannot decrypt the stored Strava tokens: the secret key changed (connect strava again)") from exc
