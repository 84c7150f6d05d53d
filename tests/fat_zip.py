"""A crafted archive for the importer's memory bound (issue 13, finding 9): members that
inflate to almost the per-file limit at about 129:1, under the 200:1 zip-bomb limit."""
from __future__ import annotations

import random
import zipfile
from pathlib import Path

RANDOM_EVERY = 512  # one random byte per 512 zeros: deflate packs this about 129:1


def fat_member(seed: int, size: int) -> bytes:
    """``size`` bytes, distinct per ``seed`` (so no two members share a sha256)."""
    rnd = random.Random(seed)
    block = bytearray(size)
    block[::RANDOM_EVERY] = rnd.randbytes(len(range(0, size, RANDOM_EVERY)))
    return bytes(block)


def fat_zip(path: Path, members: int, member_bytes: int) -> Path:
    """``members`` .fit members of ``member_bytes`` each (they decode to nothing: not FIT)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for i in range(members):
            zf.writestr(f"export/activity-{i}.fit", fat_member(i, member_bytes))
    return path
