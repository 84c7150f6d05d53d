"""The intermediate form between a FIT byte decoder and normalisation.

Two decoders produce it: the reference one built on fitdecode
(``ingest.fit.reference``) and the vectorised numpy one (``ingest.fit.fast``).
They must agree value for value; normalisation (``ingest.fit.normalize``)
only ever sees this structure.
"""
from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Messages decoded into columns because there are thousands of them per file.
COLUMNAR = ("record", "hr")

# The record fields that become columns (normalisation reads no others).
RECORD_FIELDS: tuple[str, ...] = (
    "timestamp",
    "position_lat",
    "position_long",
    "distance",
    "altitude",
    "enhanced_altitude",
    "speed",
    "enhanced_speed",
    "heart_rate",
    "cadence",
    "fractional_cadence",
    "power",
    "temperature",
)
# The hr columns: one row per beat sample.
HR_FIELDS: tuple[str, ...] = ("event_timestamp", "filtered_bpm")


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

    Exactly which columns (refined so both decoders agree):

    * ``columns["record"]`` holds the RECORD_FIELDS that have at least one
      valid value in the file (a field whose every value is invalid has no
      key), each array as long as the number of record messages. Values come
      from the field itself or, when the message lacks it, from another
      field's components as the profile expands them (``speed`` ->
      ``enhanced_speed``, ``altitude`` -> ``enhanced_altitude``,
      ``compressed_speed_distance`` -> ``speed`` + accumulated ``distance``);
      a field's own value wins over a component-expanded one.
    * ``columns["hr"]`` holds exactly HR_FIELDS (key present when the file
      has hr beat samples): ``event_timestamp`` is the beat's wall-clock time
      in unix seconds, reconstructed as ``ingest.fit.hr_events`` describes
      (anchor message + full or 12-bit packed event times; fitdecode's own
      expansion of ``event_timestamp_12`` is not used); ``filtered_bpm`` the
      beat's rate, NaN where invalid. Samples before the first anchor are dropped.

    ``messages[name]`` holds every other message as a dict of field name to
    the value fitdecode returns (enum names as strings, datetimes as aware
    UTC ``datetime``), developer fields excluded, in file order.
    Invalid values and fields unknown to the profile (``unknown_N``) are
    omitted, as are messages unknown to the profile. A subfield value is
    stored under the subfield's name and, if not set, the parent's name
    (``file_id`` gets both ``garmin_product`` and ``product``).
    ``local_date_time`` fields (``activity.local_timestamp``) are datetimes
    labelled UTC, as fitdecode gives them.
    ``chains`` counts the FIT files joined in the byte stream.

    On damage (data ending inside a message, a header promising more data
    than exists, a message type used before its definition, junk after a
    complete FIT file) decoding stops, what came before is kept,
    ``truncated`` is True and ``damage`` says what and where, e.g.
    ``"truncated at byte 768"``, ``"undefined message type at byte 7471"``,
    ``"unreadable data at byte 771"`` (N = offset of the first byte not decoded).
    A file CRC mismatch is not salvaged: the decoder raises DecodeError.
    """

    columns: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    messages: MutableMapping[str, list[dict[str, Any]]] = field(default_factory=dict)  # fast: decoded lazily
    chains: int = 1
    truncated: bool = False  # decoding stopped at damage; what came before is kept
    damage: str | None = None  # why decoding stopped early, e.g. "truncated at byte 768"
    decoder: str = "reference"

    def first(self, name: str) -> dict[str, Any] | None:
        items = self.messages.get(name)
        return items[0] if items else None

    def records(self) -> dict[str, np.ndarray]:
        return self.columns.get("record", {})
