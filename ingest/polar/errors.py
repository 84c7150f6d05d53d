"""What the Polar AccessLink client raises; below both the client and its rate-limit windows."""
from __future__ import annotations

__all__ = ["Forbidden", "NotFound", "PolarError", "RateLimited", "Unauthorized"]


class PolarError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Unauthorized(PolarError):
    """401: the token was revoked (or the user deleted): connect again."""


class Forbidden(PolarError):
    """403: the user has not accepted Polar's mandatory consents."""


class NotFound(PolarError):
    pass


class RateLimited(PolarError):
    def __init__(self, message: str, resume_at: float) -> None:
        super().__init__(message, 429)
        self.resume_at = resume_at
