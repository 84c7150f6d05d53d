"""Encryption at rest for source credentials: Strava tokens, Garmin API keys (Fernet).

The key is ``HEAVYLEGS_SECRET_KEY`` (a Fernet key, or any passphrase, which is
stretched with scrypt and a random salt kept in ``<data dir>/secret.salt``) or
else ``<data dir>/secret.key``, created on first use with mode 0600 so only the
owner can read it. Credentials stored before the salt existed (a passphrase
stretched with one SHA-256) stay readable and are written again under the
scrypt key the next time they are stored.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from heavylegs.settings_views import StoreKey

KEY_FILE = "secret.key"
SALT_FILE = "secret.salt"
SALT_BYTES = 16
# scrypt cost: 2**15 x 8 x 128 B = 32 MiB and ~0.1 s, paid once per process (cached) but
# by an attacker holding a copy of the store for every passphrase guessed.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class SecretKeyError(Exception):
    pass


def _fernet_key(raw: bytes) -> bytes | None:
    """``raw`` itself when it is a Fernet key (32 random bytes, base64): nothing to stretch."""
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except ValueError:
        pass
    return None


def _legacy_key(raw: bytes) -> bytes:
    """The passphrase key of heavylegs before issue 13 (one unsalted SHA-256): only to read old data."""
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


@functools.lru_cache(maxsize=4)
def _stretched(raw: bytes, salt: bytes) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return base64.urlsafe_b64encode(kdf.derive(raw))


def _read_salt(path: Path) -> bytes:
    try:
        salt = base64.b64decode(path.read_bytes().strip(), validate=True)
    except ValueError:
        salt = b""
    if len(salt) < SALT_BYTES:
        raise SecretKeyError(f"{path} is damaged: restore it from a backup (without it the stored credentials cannot be read)")
    return salt


def _salt(path: Path) -> bytes:
    """The store's random salt, created once (0600); written whole before it is visible,
    so two processes starting together agree on it."""
    try:
        return _read_salt(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64encode(os.urandom(SALT_BYTES)) + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)  # fails if another process made it first: theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return _read_salt(path)


def _passphrase_keys(text: str, data_dir: Path) -> list[bytes]:
    """The keys for ``HEAVYLEGS_SECRET_KEY``: encrypt with the first, decrypt with any."""
    raw = text.strip().encode()
    direct = _fernet_key(raw)
    if direct is not None:
        return [direct]
    return [_stretched(raw, _salt(data_dir / SALT_FILE)), _legacy_key(raw)]


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


def fernet(key: StoreKey) -> MultiFernet:
    configured = key.passphrase
    keys = _passphrase_keys(configured, key.data_dir) if configured else [_key_file(key.data_dir / KEY_FILE)]
    return MultiFernet([Fernet(k) for k in keys])


def encrypt(key: StoreKey, data: bytes) -> bytes:
    return fernet(key).encrypt(data)


def decrypt(key: StoreKey, token: bytes) -> bytes:
    try:
        return fernet(key).decrypt(token)
    except InvalidToken as exc:
        raise SecretKeyError("cannot decrypt the stored credentials: the secret key changed (connect the source again)") from exc
