"""Moved to ``heavylegs.service.main`` ("runner" also named ``jobs.JobRunner``); kept until the CLI imports the new name."""
from heavylegs.service.main import EXIT_LOCKED, run_service  # noqa: F401
