"""One entry point from bytes to finished activities, whatever the format."""
from __future__ import annotations

import codecs
from typing import Any, Literal

from ingest.errors import DecodeError, IngestError, NotAnActivity
from ingest.finalize import finalize
from ingest.model import Activity
from ingest.plausible import has_plausible_sample

# UTF-16 doubles the bytes: 8 KB still holds a long prolog and the root element.
_HEAD = 8192
_MAX_REASON = 200


def _xml_head(data: bytes) -> bytes:
    """The first few KB as lower-case ASCII-compatible bytes, whatever the XML's encoding.

    UTF-16 (with or without a BOM, told apart the way ``ingest.xmlsafe.prepare``
    does) is transcoded so that element names are plain bytes; a cut
    surrogate pair at the end of the window is ignored.
    """
    head = data[:_HEAD]
    codec: str | None = None
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        codec = "utf-16"
    elif len(head) >= 4 and head[1] == 0 and head[0] != 0 and head[2] != 0:
        codec = "utf-16-le"
    elif len(head) >= 4 and head[0] == 0 and head[1] != 0 and head[3] != 0:
        codec = "utf-16-be"
    if codec is not None:
        head = head[: len(head) & ~1].decode(codec, errors="ignore").encode("utf-8", errors="ignore")
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()


def sniff(data: bytes) -> str | None:
    """The format from the content: FIT by its header signature, XML by its root element."""
    if len(data) >= 12 and data[0] in (12, 14) and data[8:12] == b".FIT":
        return "fit"
    head = _xml_head(data)
    if head.startswith(b"<"):
        if b"<trainingcenterdatabase" in head:
            return "tcx"
        if b"<gpx" in head:
            return "gpx"
    return None


def decode_bytes(data: bytes, fmt: str | None, *, hints: dict[str, Any] | None = None, default_tz: str = "UTC") -> list[Activity]:
    """Decode ``data`` and finish each activity (totals, moving time, time zone).

    The name's format is a hint; the content decides when they disagree, as
    exports sometimes mislabel files.
    """
    if not data:
        raise DecodeError("empty file")
    found = sniff(data) or fmt
    # Each decoder is imported on first use (start-up time, issue 16): a FIT-only import never
    # loads lxml (~70 ms), a GPX-only one never loads fitdecode (~160 ms).
    if found == "fit":
        from ingest.fit import decode_fit  # noqa: PLC0415

        acts = decode_fit(data)
    elif found == "gpx":
        from ingest.gpx import decode_gpx  # noqa: PLC0415

        acts = decode_gpx(data)
    elif found == "tcx":
        from ingest.tcx import decode_tcx  # noqa: PLC0415

        acts = decode_tcx(data)
    elif fmt is None:
        raise DecodeError("unsupported file type (not FIT, GPX or TCX)")
    else:
        raise DecodeError(f"not a valid {fmt.upper()} file")
    if not acts:
        # The importer would otherwise store nothing and report the file as a duplicate.
        raise NotAnActivity("no activity data")
    done = [finalize(a, hints or {}, default_tz) for a in acts]
    kept = [a for a in done if has_plausible_sample(a)]
    if not kept:
        # A handful of bytes with one timestamp (or only sentinels) is not a recording.
        raise NotAnActivity("no plausible samples (no two timed samples with a value, no dated totals)")
    return kept


def _bug_reason(exc: BaseException) -> str:
    """'decoder error: Type: message', bounded: a hostile file must not flood the report."""
    try:
        text = " ".join(str(exc).split())
    except Exception:  # noqa: BLE001 - a broken __str__ must not turn a failure into a crash
        text = ""
    if len(text) > _MAX_REASON:
        text = text[:_MAX_REASON] + "..."
    return f"decoder error: {type(exc).__name__}" + (f": {text}" if text else "")


# How one file decoded: "ok" (with its activities), "skipped" (not an activity) or "failed" (with the reason).
DecodeStatus = Literal["ok", "skipped", "failed"]


def decode_safely(data: bytes, fmt: str | None, hints: dict[str, Any], default_tz: str) -> tuple[DecodeStatus, Any]:
    """For worker processes: ('ok', activities) | ('skipped', reason) | ('failed', reason).

    Unexpected exceptions are caught here so that a decoder bug fails one
    file with its reason instead of killing the batch.
    """
    try:
        return "ok", decode_bytes(data, fmt, hints=hints, default_tz=default_tz)
    except NotAnActivity as exc:
        return "skipped", exc.reason
    except IngestError as exc:
        return "failed", exc.reason
    except RecursionError:
        return "failed", "file nests too deeply to decode"
    except MemoryError:
        return "failed", "file too large to decode in memory"
    except Exception as exc:  # noqa: BLE001 - a decoder bug must not abort the batch
        return "failed", _bug_reason(exc)
