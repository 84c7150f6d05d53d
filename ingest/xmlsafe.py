"""Hardened, streaming XML parsing shared by the GPX and TCX decoders.

Activity files arrive from strangers (watch-folder drops, uploads), so the
parser must never expand entities, read DTDs or touch the network. libxml2
already caps entity amplification, but we refuse entity declarations outright
before parsing: a refusal with a clear reason beats a half-parsed document,
and the byte scan costs about a millisecond per 10 MB.
"""
from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator, Sequence

from lxml import etree

from ingest.errors import DecodeError, HostileInput

# Every option that could make the parser fetch, expand or grow without bound is off.
PARSER_OPTIONS: dict[str, bool] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}

ENTITY_REASON = "XML entity declarations are not allowed"

_WHITESPACE = b" \t\r\n"
_ENCODING_DECL = re.compile(r"""^(<\?xml[^>]*?)\s+encoding\s*=\s*["'][^"']*["']""")
_DECLARED = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._\-]{1,40})["']""")
# Encodings in which ASCII markup is ASCII bytes, so the entity scan cannot be dodged
# (UTF-7 or EBCDIC would spell "<!ENTITY" with other bytes).
_ASCII_COMPATIBLE = re.compile(r"^(utf-?8|us-ascii|ascii|iso-?8859-\d{1,2}|latin-?1|windows-125\d|cp125\d)$")


def _transcode_utf16(data: bytes, codec: str = "utf-16") -> bytes:
    """UTF-16 -> UTF-8, so that the byte scans below see ASCII markup."""
    try:
        text = data.decode(codec).lstrip("\ufeff \t\r\n")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"invalid XML: bad UTF-16 text ({exc.reason})") from None
    # The declaration would now lie about the encoding; libxml2 trusts it over the bytes.
    return _ENCODING_DECL.sub(r"\1", text, count=1).encode("utf-8")


def refuse_entities(data: bytes) -> None:
    """Raise HostileInput when a DOCTYPE declares entities (billion laughs, XXE).

    DOCTYPE may legally appear only in the prolog, but we scan the whole
    document: a comment in the prolog could otherwise hide where the prolog
    ends. GPX and TCX never need a DOCTYPE, so a false alarm costs nothing real.
    """
    start = data.find(b"<!DOCTYPE")
    if start < 0:
        return
    if data.find(b"<!ENTITY", start) >= 0:
        raise HostileInput(ENTITY_REASON)


def prepare(data: bytes) -> bytes:
    """Normalise the head of the document and refuse hostile DTDs.

    Handles a UTF-8 or UTF-16 byte-order mark, UTF-16 without one, and
    whitespace before the XML declaration (libxml2 rejects a declaration that
    is not the first thing). Only ASCII-compatible encodings get through, so
    that the entity scan sees markup as ASCII bytes.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    elif data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        data = _transcode_utf16(data)
    elif len(data) >= 4 and data[1] == 0 and data[0] != 0 and data[2] != 0:
        data = _transcode_utf16(data, "utf-16-le")  # UTF-16 without a BOM, as libxml2 would guess
    elif len(data) >= 4 and data[0] == 0 and data[1] != 0 and data[3] != 0:
        data = _transcode_utf16(data, "utf-16-be")
    if data[:1] in (b" ", b"\t", b"\r", b"\n"):
        data = data.lstrip(_WHITESPACE)
        if data.startswith(codecs.BOM_UTF8):  # some tools write whitespace, then the BOM
            data = data[len(codecs.BOM_UTF8):].lstrip(_WHITESPACE)
    if not data:
        raise DecodeError("invalid XML: the file is empty")
    if b"\x00" in data[:4]:
        raise DecodeError("invalid XML: unsupported text encoding (UTF-32?)")
    if data[:1] != b"<":
        raise DecodeError("invalid XML: line 1: the document does not start with '<'")
    declared = _DECLARED.match(data)
    if declared and not _ASCII_COMPATIBLE.match(declared.group(1).decode("ascii").lower()):
        raise DecodeError(f"invalid XML: unsupported encoding {declared.group(1).decode('ascii')!r}")
    refuse_entities(data)
    return data


def syntax_reason(exc: etree.XMLSyntaxError) -> str:
    """'invalid XML: line 3: <what libxml2 said>' for the user.

    With some parser options lxml raises a generic "no element found" at line 0
    while the real error is the newest entry of its (accumulating) error log.
    """
    line, msg = (exc.position[0] if exc.position else exc.lineno), (exc.msg or str(exc))
    log = getattr(exc, "error_log", None)
    if not line and log:
        line, msg = log[-1].line, log[-1].message
    # libxml2 repeats the position at the end of its message; the prefix already says the line.
    # Strip again after: some messages end "...\n, line 1, column N", leaving a newline behind.
    msg = re.sub(r",? line \d+, column \d+$", "", msg.strip()).strip()
    return f"invalid XML: line {line}: {msg}" if line else f"invalid XML: {msg}"


class SafeIterparse:
    """``lxml.etree.iterparse`` over bytes with the hardened options.

    Yields ``(event, element)`` for the requested tags; a syntax error becomes
    DecodeError. ``root`` is the document element once parsing has started.
    """

    def __init__(self, data: bytes, tags: Sequence[str], events: Sequence[str] = ("end",)) -> None:
        # The stubs' overloads want literal keyword flags; PARSER_OPTIONS is the one hardened set.
        self._ctx = etree.iterparse(io.BytesIO(data), events=tuple(events), tag=list(tags), **PARSER_OPTIONS)  # type: ignore[call-overload]

    @property
    def root(self) -> etree._Element | None:
        return getattr(self._ctx, "root", None)

    def __iter__(self) -> Iterator[tuple[str, etree._Element]]:
        try:
            yield from self._ctx
        except etree.XMLSyntaxError as exc:
            raise DecodeError(syntax_reason(exc)) from None


def local(tag: object) -> str:
    """Local name of an element tag; '' for comments and processing instructions."""
    if not isinstance(tag, str):
        return ""
    return tag[tag.rfind("}") + 1:]


def release(elem: etree._Element, count: int) -> None:
    """Free a finished element; every 1024th call also drops the finished siblings before it.

    Clearing keeps the element's children from piling up; the emptied shells
    themselves are deleted in batches, since one slice deletion costs far less
    than a getprevious()/del per element and memory stays flat either way.
    """
    elem.clear(keep_tail=False)
    if count & 1023 == 0:
        parent = elem.getparent()
        if parent is not None:
            del parent[: parent.index(elem)]
