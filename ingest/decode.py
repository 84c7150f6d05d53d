"""One entry point from bytes to finished activities, whatever the format."""
from __future__ import annotations

from typing import Any

from ingest.errors import DecodeError, IngestError
from ingest.finalize import finalize
from ingest.model import Activity


def sniff(data: bytes) -> str | None:
    """The format from the content: FIT by its header signature, XML by its root element."""
    if len(data) >= 12 and data[0] in (12, 14) and data[8:12] == b".FIT":
        return "fit"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
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
    if found == "fit":
        from ingest.fit import decode_fit

        acts = decode_fit(data)
    elif found == "gpx":
        from ingest.gpx import decode_gpx

        acts = decode_gpx(data)
    elif found == "tcx":
        from ingest.tcx import decode_tcx

        acts = decode_tcx(data)
    elif fmt is None:
        raise DecodeError("unsupported file type (not FIT, GPX or TCX)")
    else:
        raise DecodeError(f"not a valid {fmt.upper()} file")
    return [finalize(a, hints or {}, default_tz) for a in acts]


def decode_safely(data: bytes, fmt: str | None, hints: dict[str, Any], default_tz: str) -> tuple[str, Any]:
    """For worker processes: ('ok', activities) | ('skipped', reason) | ('failed', reason).

    Unexpected exceptions are caught here so that a decoder bug fails one
    file with its reason instead of killing the batch.
    """
    from ingest.errors import NotAnActivity

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
        return "failed", f"decoder error: {type(exc).__name__}: {exc}"
