"""GPX/TCX in other encodings, gzip-wrapped, with a DOCTYPE, or with giant nodes.

Windows tools write UTF-16 with a BOM; such files must be recognised by
content (the name may be missing or lie) and decode to the same points as
the UTF-8 original. Giant text nodes and attributes must be refused by
libxml2's limits or the gzip limits, never parsed into memory.
"""
from __future__ import annotations

import codecs
import gzip
import os
import re
from pathlib import Path

import numpy as np
import pytest

from ingest.decode import decode_bytes, sniff
from ingest.errors import DecodeError, HostileInput
from ingest.limits import Limits
from ingest.model import Activity
from ingest.walk import iter_items, load_bytes
from tests.helpers import FIXTURES

ORIGINALS = {
    "gpx": FIXTURES / "sweatpy" / "activity_5039744860.gpx",
    "tcx": FIXTURES / "sweatpy" / "activity_5039744860.tcx",
}
_DECL_ENCODING = re.compile(rb"""encoding=["']UTF-8["']""", re.IGNORECASE)


def _reencode(data: bytes, variant: str) -> bytes:
    """The UTF-8 document ``data`` as the given encoding, declaration updated as a tool would."""
    if variant == "utf-8-bom":
        return codecs.BOM_UTF8 + data
    text = _DECL_ENCODING.sub(b'encoding="UTF-16"', data, count=1).decode("utf-8")
    if variant == "utf-16-le-bom":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    if variant == "utf-16-be-bom":
        return codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    assert variant == "utf-16-le"  # no BOM: libxml2 and our sniffing guess from the zero bytes
    return text.encode("utf-16-le")


def assert_same_activity(got: list[Activity], want: list[Activity]) -> None:
    assert len(got) == len(want) == 1
    g, w = got[0], want[0]
    assert (g.start_utc, g.sport, g.format, g.name, g.distance_m) == (w.start_utc, w.sport, w.format, w.name, w.distance_m)
    assert set(g.streams.present()) == set(w.streams.present())
    for name, column in w.streams.present().items():
        assert np.array_equal(g.streams.present()[name], column, equal_nan=True), name


VARIANTS = ["utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "utf-16-le"]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("fmt", sorted(ORIGINALS))
def test_reencoded_files_sniff_and_decode_like_the_original(fmt: str, variant: str, tmp_path: Path) -> None:
    original = ORIGINALS[fmt].read_bytes()
    want = decode_bytes(original, fmt)
    data = _reencode(original, variant)
    assert sniff(data) == fmt
    other = "tcx" if fmt == "gpx" else "gpx"
    # Content decides: no name, the right name, and a name that lies all give the same activity.
    for hint in (None, fmt, other, "fit"):
        assert_same_activity(decode_bytes(data, hint), want)
    # The same through real files, plain and gzip-wrapped, as the importer reads them.
    (tmp_path / f"a.{fmt}").write_bytes(data)
    (tmp_path / f"b.{fmt}.gz").write_bytes(gzip.compress(data))
    (tmp_path / "c.gz").write_bytes(gzip.compress(data))  # named by neither format
    items = list(iter_items([tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}.gz", tmp_path / "c.gz"], Limits()))
    assert [i.gz for i in items] == [False, True, True]
    for item in items:
        assert load_bytes(item, Limits()) == data
        assert_same_activity(decode_bytes(load_bytes(item, Limits()), item.fmt), want)


def test_sniff_copes_with_a_cut_or_odd_utf16_window() -> None:
    text = ORIGINALS["gpx"].read_text("utf-8")
    padded = codecs.BOM_UTF16_LE + ("<!--" + "é" * 3000 + "-->" + text).encode("utf-16-le")
    assert sniff(padded) == "gpx"  # the root element is past the first 4 KB of bytes
    assert sniff(codecs.BOM_UTF16_LE + "<?xml version='1.0'?>".encode("utf-16-le")) is None
    assert sniff(codecs.BOM_UTF16_BE + b"\xd8") is None  # a lone half of a code unit
    with pytest.raises(DecodeError, match="unsupported file type"):
        decode_bytes(codecs.BOM_UTF16_LE + "just text".encode("utf-16-le"), None)


@pytest.mark.parametrize("doctype", [
    b'<!DOCTYPE gpx SYSTEM "http://127.0.0.1:9/gpx.dtd">',
    b'<!DOCTYPE gpx PUBLIC "-//x//y" "file:///etc/passwd">',
    b'<!DOCTYPE gpx [ <!ELEMENT gpx ANY> <!ATTLIST gpx creator CDATA "x"> ]>',
])
def test_doctype_without_entities_is_ignored_not_loaded(doctype: bytes) -> None:
    original = ORIGINALS["gpx"].read_bytes()
    data = original.replace(b"<gpx ", doctype + b"\n<gpx ", 1)
    assert data != original
    assert_same_activity(decode_bytes(data, None), decode_bytes(original, None))


_BIG = 11_000_000  # just past libxml2's 10 MB cap on one text node or attribute without XML_PARSE_HUGE


def _giant(fmt: str, where: str, filler: bytes) -> bytes:
    original = ORIGINALS[fmt].read_bytes()
    if where == "attribute":
        anchor = b"<gpx " if fmt == "gpx" else b"<Activity "
        return original.replace(anchor, anchor + b'junk="' + filler + b'" ', 1)
    anchor = b"</trkpt>" if fmt == "gpx" else b"</Trackpoint>"
    return original.replace(anchor, b"<desc>" + filler + b"</desc>" + anchor, 1)


@pytest.mark.parametrize("where", ["text", "attribute"])
@pytest.mark.parametrize("fmt", sorted(ORIGINALS))
def test_giant_text_node_or_attribute_is_refused(fmt: str, where: str) -> None:
    with pytest.raises(DecodeError, match=r"^invalid XML: line \d+: Resource limit exceeded: [^\n]*\Z"):
        decode_bytes(_giant(fmt, where, b"a" * _BIG), None)


def test_gzipped_text_node_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    # 50 MB of one letter gzips ~1000:1: over the ratio limit, refused while inflating.
    bomb = tmp_path / "bomb.gpx.gz"
    bomb.write_bytes(gzip.compress(_giant("gpx", "text", b"a" * (50 << 20)), compresslevel=1))
    (item,) = iter_items([bomb], Limits())
    with pytest.raises(HostileInput, match="compression bomb"):
        load_bytes(item, Limits())
    # Within the ratio but over the size limit: refused too, without inflating it all.
    with pytest.raises(HostileInput, match="gzip expands past"):
        load_bytes(item, Limits(max_file_bytes=10 << 20, max_compression_ratio=1e6))


def test_gzipped_giant_text_node_within_limits_is_refused_by_the_parser(tmp_path: Path) -> None:
    # Random hex compresses ~2:1, so the gzip limits let it through; libxml2's node cap must hold.
    filler = os.urandom(_BIG // 2 + 1).hex().encode()
    path = tmp_path / "big.tcx.gz"
    path.write_bytes(gzip.compress(_giant("tcx", "text", filler), compresslevel=1))
    (item,) = iter_items([path], Limits())
    data = load_bytes(item, Limits())
    with pytest.raises(DecodeError, match="Resource limit exceeded"):
        decode_bytes(data, item.fmt)


def test_utf16_giant_text_node_is_refused() -> None:
    # Transcoding UTF-16 to UTF-8 must not sidestep the node cap.
    data = _reencode(_giant("gpx", "text", b"a" * _BIG), "utf-16-le-bom")
    assert sniff(data) == "gpx"
    with pytest.raises(DecodeError, match="Resource limit exceeded"):
        decode_bytes(data, None)
