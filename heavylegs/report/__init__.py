"""The HTML report and its charts (matplotlib, Agg backend)."""
from __future__ import annotations

from heavylegs.report.page import render_report_html

__all__ = ["render_report_html"]
