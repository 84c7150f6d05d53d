"""The token endpoint's answer: a JWT, and when it stops being valid.

Garmin's endpoint answers with the bare JWT as text. Defensively, a quoted
string or a JSON object with a token field is accepted too. The lifetime
comes from the JWT's ``exp`` claim (read, not verified: the token is only
ever sent back to the server that issued it).
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

FALLBACK_LIFETIME_S = 3600.0  # a token without a readable exp is used for at most this long
TOKEN_FIELDS = ("token", "accessToken", "access_token", "jwt", "id_token")


class BadToken(ValueError):
    """The token endpoint answered 200 with something that is not a JWT."""


@dataclass(frozen=True)
class Token:
    jwt: str
    expires_at: float  # unix seconds
    issued_at: float = 0.0  # when we received it

    def renew_at(self, margin_s: float) -> float:
        """When to exchange again: ``margin_s`` before exp, or half-way for a token that lives less than twice that."""
        lifetime = self.expires_at - self.issued_at if self.issued_at else 2 * margin_s
        return self.expires_at - min(margin_s, max(0.0, lifetime) / 2)


def _claims(jwt: str) -> dict[str, Any]:
    parts = jwt.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise BadToken("the token endpoint's answer is not a JWT")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadToken("the JWT's payload is not JSON") from exc
    return claims if isinstance(claims, dict) else {}


def _unwrap(text: str) -> str:
    body = text.strip()
    if body.startswith(("{", '"')):
        try:
            value = json.loads(body)
        except ValueError:
            return body.strip('"')
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, dict):
            for key in TOKEN_FIELDS:
                if isinstance(value.get(key), str):
                    return str(value[key]).strip()
        raise BadToken("the token endpoint's JSON has no token field")
    return body


def parse_token_body(text: str, now: float) -> Token:
    """A ``Token`` from the endpoint's body; ``exp`` missing or odd means a short fallback lifetime."""
    jwt = _unwrap(text)
    if jwt.lower().startswith("bearer "):
        jwt = jwt[7:].strip()
    exp = _claims(jwt).get("exp")
    try:
        expires_at = float(exp) if exp is not None else now + FALLBACK_LIFETIME_S
    except (TypeError, ValueError):
        expires_at = now + FALLBACK_LIFETIME_S
    return Token(jwt, expires_at, now)
