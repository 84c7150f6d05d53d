"""Builders for hostile and broken inputs; tests make them fresh, nothing is shipped."""
from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def zip_bomb(inflated_bytes: int = 64 * 1024 * 1024) -> bytes:
    """One member of zeros: a few KB that inflate to ``inflated_bytes``."""
    return zip_bytes({"huge.fit": b"\0" * inflated_bytes})


def gzip_bomb(inflated_bytes: int = 64 * 1024 * 1024) -> bytes:
    return gzip.compress(b"\0" * inflated_bytes, 9)


def nested_zip(depth: int, inner: dict[str, bytes]) -> bytes:
    data = zip_bytes(inner)
    for level in range(depth - 1):
        data = zip_bytes({f"level{level}.zip": data})
    return data


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>&lol9;</name><trkseg>
<trkpt lat="46.0" lon="14.0"><time>2020-01-01T10:00:00Z</time></trkpt>
<trkpt lat="46.001" lon="14.0"><time>2020-01-01T10:00:10Z</time></trkpt>
</trkseg></trk></gpx>
"""


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
