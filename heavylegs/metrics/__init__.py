"""Analysis service: feeds stored activities to analysis/ and stores the results.

Import the entry points from their modules: ``recompute_athlete``,
``recompute_dirty``, ``ensure_current`` and ``RecomputeSummary`` from
``metrics.recompute``; ``daily_rows``, ``run_rows`` and ``state_info`` from
``metrics.read``. This package module itself imports nothing, because
``metrics.tables`` is loaded while the store assembles its schema.
"""
