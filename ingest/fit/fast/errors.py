"""The fast decoder's way of saying "let the reference decoder handle this file"."""
from __future__ import annotations


class FastPathUnsupported(Exception):
    """Raised for inputs the fast path does not mirror exactly; the caller falls back."""
