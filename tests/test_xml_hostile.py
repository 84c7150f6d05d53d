"""Hostile XML: entity bombs, external entities, deep nesting. Refused fast, never expanded."""
from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from ingest.errors import DecodeError, HostileInput
from ingest.gpx import decode_gpx
from ingest.model import Activity
from ingest.tcx import decode_tcx
from ingest.xmlsafe import ENTITY_REASON, prepare

Decoder = Callable[..., list[Activity]]
ROOTS = {
    "gpx": (decode_gpx, '<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>{ref}</name><trkseg>'
            '<trkpt lat="1" lon="1"><time>2024-01-01T00:00:00Z</time></trkpt>'
            '<trkpt lat="1" lon="1.001"><time>2024-01-01T00:00:09Z</time></trkpt></trkseg></trk></gpx>'),
    "tcx": (decode_tcx, '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"><Activities>'
            '<Activity Sport="Running"><Id>2024-01-01T00:00:00Z</Id><Lap StartTime="2024-01-01T00:00:00Z"><TotalTimeSeconds>9</TotalTimeSeconds>'
            '<Track><Trackpoint><Time>2024-01-01T00:00:00Z</Time></Trackpoint><Trackpoint><Time>2024-01-01T00:00:09Z</Time></Trackpoint></Track>'
            '</Lap><Notes>{ref}</Notes></Activity></Activities></TrainingCenterDatabase>'),
}


def billion_laughs(root: str) -> str:
    lines = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return f'<!DOCTYPE {root} [\n' + "\n".join(lines) + "\n]>\n"


def quadratic(root: str) -> str:
    return f'<!DOCTYPE {root} [<!ENTITY big "{"A" * 100_000}">]>\n'


def xxe(root: str) -> str:
    return f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'


def parameter_xxe(root: str) -> str:
    return f'<!DOCTYPE {root} [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]>\n'


BOMBS = {
    "billion_laughs": (billion_laughs, "&lol9;"),
    "quadratic": (quadratic, "&big;" * 20_000),
    "xxe": (xxe, "&xxe;"),
    "parameter_entity": (parameter_xxe, "x"),
}


def _doc(fmt: str, bomb: str) -> tuple[Decoder, bytes]:
    decoder, body = ROOTS[fmt]
    make, ref = BOMBS[bomb]
    root = "gpx" if fmt == "gpx" else "TrainingCenterDatabase"
    return decoder, ('<?xml version="1.0" encoding="UTF-8"?>\n' + make(root) + body.replace("{ref}", ref)).encode()


@pytest.mark.parametrize("fmt", ["gpx", "tcx"])
@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_entity_declarations_are_refused_quickly(fmt: str, bomb: str) -> None:
    decoder, data = _doc(fmt, bomb)
    started = time.perf_counter()
    with pytest.raises(HostileInput) as info:
        decoder(data)
    assert time.perf_counter() - started < 1.0
    assert info.value.reason == ENTITY_REASON == "XML entity declarations are not allowed"


@pytest.mark.parametrize("fmt", ["gpx", "tcx"])
def test_the_same_documents_without_the_bomb_decode(fmt: str) -> None:
    decoder, body = ROOTS[fmt]
    [act] = decoder(('<?xml version="1.0"?>' + body.replace("{ref}", "Plain")).encode())
    assert act.name == "Plain" and act.elapsed_s == 9.0


def test_bomb_behind_bom_whitespace_or_utf16_is_still_refused() -> None:
    _, data = _doc("gpx", "xxe")
    for variant in (b"\xef\xbb\xbf" + data, b"  \n" + data, data.decode().encode("utf-16"), data.decode().encode("utf-16-be")):
        with pytest.raises(HostileInput):
            prepare(variant)


def test_encodings_that_could_hide_markup_are_refused() -> None:
    # In UTF-7 "<!ENTITY" need not contain those bytes; libxml2 could still decode it.
    utf7 = '<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE gpx +AFs-+ADw-!ENTITY x SYSTEM "file:///etc/passwd"+AD4-+AF0-+AD4-<gpx/>'
    with pytest.raises(DecodeError, match="unsupported encoding 'UTF-7'"):
        decode_gpx(utf7.encode("ascii"))
    with pytest.raises(DecodeError, match="unsupported text encoding"):
        decode_gpx('<?xml version="1.0"?><gpx/>'.encode("utf-32-le"))
    with pytest.raises(DecodeError, match="does not start with"):
        decode_gpx(b"GPX please")


def test_external_dtd_is_never_loaded() -> None:
    decoder, body = ROOTS["gpx"]
    doc = '<?xml version="1.0"?>\n<!DOCTYPE gpx SYSTEM "file:///etc/passwd">\n' + body.replace("{ref}", "Run")
    [act] = decoder(doc.encode())
    assert act.name == "Run"  # parsed without reading the DTD: a loaded /etc/passwd would not parse


def test_undeclared_entity_is_a_decode_error() -> None:
    decoder, body = ROOTS["gpx"]
    with pytest.raises(DecodeError, match="invalid XML: line 1: .*xxe"):
        decoder(('<?xml version="1.0"?>' + body.replace("{ref}", "&xxe;")).encode())


def test_deep_nesting_is_refused_quickly() -> None:
    depth = 100_000
    doc = ('<?xml version="1.0"?><gpx xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg><trkpt lat="1" lon="1"><extensions>'
           + "<a>" * depth + "</a>" * depth + "</extensions></trkpt></trkseg></trk></gpx>")
    started = time.perf_counter()
    with pytest.raises(DecodeError, match="invalid XML"):
        decode_gpx(doc.encode())
    assert time.perf_counter() - started < 1.0


def test_point_limit_holds_for_tcx() -> None:
    decoder, body = ROOTS["tcx"]
    data = ('<?xml version="1.0"?>' + body.replace("{ref}", "x")).encode()
    assert len(decoder(data, max_points=2)[0].streams) == 2
    with pytest.raises(HostileInput, match="more than 1 track points"):
        decoder(data, max_points=1)
