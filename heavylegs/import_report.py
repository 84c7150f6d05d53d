"""What an import did, file by file, and its JSON form."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FileOutcome:
    path: str
    status: str  # imported | duplicate | skipped | failed
    reason: str | None = None
    sha256: str | None = None
    activity_id: int | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    # Most bytes of file content the importer held at once (its window, see Importer.run).
    window_peak_bytes: int = 0

    def add(self, outcome: FileOutcome) -> None:
        self.outcomes.append(outcome)

    def _with(self, status: str) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def imported(self) -> int:
        return len(self._with("imported"))

    @property
    def duplicates(self) -> int:
        return len(self._with("duplicate"))

    @property
    def skipped(self) -> list[dict[str, str]]:
        return [{"path": o.path, "reason": o.reason or ""} for o in self._with("skipped")]

    @property
    def failed(self) -> list[dict[str, str]]:
        return [{"path": o.path, "reason": o.reason or ""} for o in self._with("failed")]

    @property
    def activity_ids(self) -> set[int]:
        return {o.activity_id for o in self.outcomes if o.activity_id is not None}

    @property
    def warnings(self) -> list[dict[str, str]]:
        return [{"path": o.path, "reason": w} for o in self.outcomes for w in o.warnings]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "imported": self.imported,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "failed": self.failed,
            "warnings": self.warnings,  # always present, like skipped and failed
        }
        return out
