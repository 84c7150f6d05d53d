"""Sources as plug-ins: where activities come from.

One module per kind (``folder``, ``strava``, ``garmin``), each implementing
``base.Source`` (connect, sync, backfill, disconnect, status) and listed in
``registry.KINDS``. The service's job runner calls ``sync`` on a schedule and
records the outcome on the ``sources`` row (``store.record_result``), so a kind
only fetches. The stop signal and a ``base.SourceEnv`` (the kinds' sections, the
secrets reader, the store key, the import) are passed in, never read from module
globals. HTTP kinds share ``http`` (credentials, token cache, waits on
``Retry-After``, the "already present" matcher).
"""
