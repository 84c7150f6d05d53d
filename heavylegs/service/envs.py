"""The bundles that the wiring hands to components, built from the whole ``Settings``.

Each component takes only what it reads (see docs/development.md#settings); these builders are the
one place that knows which sections go into which bundle. The alert ones (``channel_env``,
``alerts_context``) live in ``jobs.py`` next to the jobs that use them: building them needs the alert
modules, which an import or an analysis command should not pay to load.
"""
from __future__ import annotations

from heavylegs.importer import ImportEnv
from heavylegs.metrics.config import AnalysisEnv
from heavylegs.settings import Settings
from heavylegs.sources.base import SourceEnv

__all__ = ["analysis_env", "import_env", "source_env"]


def import_env(settings: Settings) -> ImportEnv:
    """What an import reads: ``[import]``, ``[dedup]`` and the athletes' zones."""
    return ImportEnv(settings.cfg.import_, settings.cfg.dedup, settings.athletes)


def source_env(settings: Settings) -> SourceEnv:
    """What every source kind reads: its own section, the secrets and store key, the import of fetched files."""
    cfg = settings.cfg
    return SourceEnv(import_env(settings), settings.secrets, settings.store_key, cfg.service.folder_settle_s,
                     cfg.strava, cfg.garmin, cfg.polar, cfg.intervals)


def analysis_env(settings: Settings) -> AnalysisEnv:
    """What the recompute reads; the tables as written keep every store's settings hash (see AnalysisEnv)."""
    return AnalysisEnv(settings.cfg.analysis, settings.athletes, settings.section("analysis"), settings.section("athlete"),
                       settings.section("athletes"))
