"""The intermediate form between a FIT byte decoder and normalisation.

Two decoders produce it: the reference one built on fitdecode
(``ingest.fit.reference``) and the vectorised numpy one (``ingest.fit.fast``).
They must agree value for value; normalisation (``ingest.fit.normalize``)
only ever sees this structure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Messages decoded into columns because there are thousands of them per file.
COLUMNAR = ("record", "hr")


@dataclass
class FitMessages:
    """Decoded messages of one FIT file; chained files are concatenated in order.

    ``columns[name][field]`` holds one float64 array per field for the
    high-volume messages in COLUMNAR, one entry per message in file order, NaN
    where a message lacks the field or the value is invalid. Values are
    scaled and offset as the FIT profile says (what fitdecode returns), except:

    * ``timestamp`` (and hr ``event_timestamp``) are unix seconds (float),
      with compressed-timestamp headers already resolved;
    * ``position_lat``/``position_long`` stay in semicircles, as fitdecode gives them;
    * array-valued fields (hr ``event_timestamp``, ``filtered_bpm``) are
      flattened, so ``columns["hr"]`` is one row per beat sample, not per message.

    ``messages[name]`` holds every other message as a dict of field name to
    the value fitdecode returns (enum names as strings, datetimes as aware
    UTC ``datetime``), developer fields excluded, in file order.
    ``chains`` counts the FIT files joined in the byte stream.
    """

    columns: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    chains: int = 1
    truncated: bool = False  # decoding stopped at damage; what came before is kept
    decoder: str = "reference"

    def first(self, name: str) -> dict[str, Any] | None:
        items = self.messages.get(name)
        return items[0] if items else None

    def records(self) -> dict[str, np.ndarray]:
        return self.columns.get("record", {})
