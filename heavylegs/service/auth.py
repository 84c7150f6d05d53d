"""Who may read the web endpoint: a bearer token, a scrypt password hash, signed session cookies.

The service holds one user's health data (and GPS tracks near home), so the
rules are strict: beyond loopback or behind a proxy it refuses to start without
``[service.auth]``; secrets are compared in constant time; the session cookie
is an expiry and a nonce signed with a key derived from the configured
secrets (changing the token or the password logs every browser out).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from heavylegs.settings_errors import ConfigError
from heavylegs.settings_schema import ServiceAuthSection, ServiceSection
from heavylegs.settings_views import Secrets

# scrypt cost: 2**15 x 8 x 128 B = 32 MiB and ~0.1 s per guess. OWASP suggests N = 2**17 (128 MiB);
# 2**15 bounds the memory one login attempt can make a small board spend, and failed logins are
# rate-limited per client (auth_web.py). N, r, p are stored in the hash, so raising them later keeps
# old hashes valid.
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2**15, 8, 1, 32
MIN_TOKEN_CHARS = 16
LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$<salt>$<key>`` (base64url): what ``service.auth.password_hash`` holds."""
    salt = salt or secrets.token_bytes(16)
    key = Scrypt(salt=salt, length=SCRYPT_LEN, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(password.encode())
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def _parse_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    parts = encoded.strip().split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("not a heavylegs password hash (scrypt$N$r$p$salt$key); make one with `heavylegs auth hash-password`")
    n, r, p = (int(x) for x in parts[1:4])
    if n < 2**14 or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise ValueError("password hash parameters out of range (N a power of two >= 16384, r 1-32, p 1-16)")
    return n, r, p, _unb64(parts[4]), _unb64(parts[5])


def verify_password(password: str, encoded: str) -> bool:
    n, r, p, salt, key = _parse_hash(encoded)
    try:
        Scrypt(salt=salt, length=len(key), n=n, r=r, p=p).verify(password.encode(), key)
        return True
    except InvalidKey:
        return False


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; False for 0.0.0.0, :: and every other address or name."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass
class Auth:
    """The resolved ``[service.auth]``; ``enabled`` is False when neither a token nor a password is set."""

    token: str = ""
    password_hash: str = ""
    session_s: float = 12 * 3600
    _revoked: dict[str, float] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_config(cls, conf: ServiceAuthSection, reader: Secrets) -> Auth:
        """``[service.auth]``, its token and hash read by ``reader`` (given, by file or by variable)."""
        token = reader.read(conf, "token")
        password_hash = reader.read(conf, "password_hash")
        if token and len(token) < MIN_TOKEN_CHARS:
            raise ConfigError(f"service.auth.token: at least {MIN_TOKEN_CHARS} characters (make one with `heavylegs auth new-token`)")
        if password_hash:
            try:
                _parse_hash(password_hash)
            except ValueError as exc:
                raise ConfigError(f"service.auth.password_hash: {exc}") from None
        if conf.session_hours <= 0:
            raise ConfigError("service.auth.session_hours: must be positive")
        return cls(token, password_hash, conf.session_hours * 3600)

    @property
    def enabled(self) -> bool:
        return bool(self.token or self.password_hash)

    def check_token(self, candidate: str) -> bool:
        return bool(self.token) and hmac.compare_digest(candidate.encode(), self.token.encode())

    def check_login(self, secret: str) -> bool:
        """The login form accepts the password, or the token (for a setup with only a token)."""
        if self.check_token(secret):
            return True
        return bool(self.password_hash) and verify_password(secret, self.password_hash)

    # ---- sessions: "<expiry>.<nonce>.<hmac>" --------------------------------
    def _key(self) -> bytes:
        return hashlib.sha256(b"heavylegs-session\0" + self.token.encode() + b"\0" + self.password_hash.encode()).digest()

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key(), payload.encode(), hashlib.sha256).digest())

    def new_session(self, now: float | None = None) -> str:
        payload = f"{int((now or time.time()) + self.session_s)}.{secrets.token_urlsafe(12)}"
        return f"{payload}.{self._sign(payload)}"

    def session_ok(self, value: str, now: float | None = None) -> bool:
        payload, _, sig = value.rpartition(".")
        if not payload or not hmac.compare_digest(sig.encode(), self._sign(payload).encode()):
            return False
        expiry, _, nonce = payload.partition(".")
        try:
            alive = int(expiry) > (now or time.time())
        except ValueError:
            return False
        with self._lock:
            return alive and nonce not in self._revoked

    def revoke(self, value: str) -> None:
        """Logout: the cookie's nonce is refused until the cookie would have expired anyway."""
        if not self.session_ok(value):
            return
        expiry, _, rest = value.partition(".")
        nonce = rest.partition(".")[0]
        now = time.time()
        with self._lock:
            self._revoked = {n: t for n, t in self._revoked.items() if t > now}
            self._revoked[nonce] = float(expiry)


def check_exposure(service: ServiceSection, bind_host: str, auth: Auth) -> None:
    """Refuse (ConfigError) to serve athlete data beyond loopback or behind a proxy without a login."""
    if auth.enabled:
        return
    if service.behind_proxy:
        raise ConfigError("service.behind_proxy is set but service.auth has no token or password_hash: "
                          "set one (heavylegs auth new-token / heavylegs auth hash-password) before exposing the service")
    if not is_loopback(bind_host):
        raise ConfigError(f"refusing to listen on {bind_host} without a login: set service.auth.token or "
                          "service.auth.password_hash (heavylegs auth new-token / heavylegs auth hash-password), "
                          "or listen on 127.0.0.1")
