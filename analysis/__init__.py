"""Pure numpy analysis engine: no database, no clock, nothing else of ours imported.

Modules: ``trimp`` (Banister load, HR coverage), ``hr`` (observed HRmax),
``estimate`` (load without HR), ``moving`` (pauses), ``gap`` (Minetti grade
adjustment), ``runs`` (per-run metrics), ``baseline`` (fade vs. recent runs),
``daily`` (ACWR, CTL/ATL/TSB, monotony, strain, run streak).
"""
