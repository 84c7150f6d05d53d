"""The service's own drop folder, the folder source named ``inbox``.

``heavylegs run`` creates it (``--inbox``, default ``<data dir>/inbox``) and moves
it when ``--inbox`` changes. The name is reserved (``registry.RESERVED_NAMES``),
so a user's source can no longer take it; a store from an older version that
has a hand-made "inbox" keeps that source exactly as the user made it.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from sqlalchemy import Engine, update

from heavylegs.sources.store import add_source, get_source, source_config
from heavylegs.store.tables import sources

log = logging.getLogger("heavylegs.service")

INBOX = "inbox"


def ensure_inbox(engine: Engine, inbox: Path, *, athlete: str, data_dir: Path) -> None:
    """The service's own folder source ``inbox`` for ``athlete`` (the default one), pointing at ``inbox``.

    Only a source the service made (marked ``service_inbox``) is ever moved to a
    new ``--inbox``. A source named "inbox" that the user created (possible
    before the name was reserved) keeps its path: the service says so in the log
    and leaves it alone, rather than silently scanning somewhere else.
    """
    inbox.mkdir(parents=True, exist_ok=True)
    path = str(inbox.resolve())
    existing = get_source(engine, INBOX)
    if existing is None:
        add_source(engine, INBOX, "folder", athlete, {"path": path, "service_inbox": True}, reserved_ok=True)
        return
    config = source_config(existing)
    ours = existing.kind == "folder" and bool(config.get("service_inbox"))
    if not ours and (existing.kind != "folder" or config.get("path") not in (path, str((data_dir / INBOX).resolve()))):
        log.warning("a source named %r (%s, %s) was created by hand; it is kept as it is and the default inbox %s is not watched. "
                    "To use the default inbox, rename yours: heavylegs disconnect inbox; heavylegs connect folder PATH --name OTHER",
                    INBOX, existing.kind, config.get("path"), path)
        return
    if config.get("path") != path:
        log.info("inbox moved from %s to %s", config.get("path"), path)
    if config.get("path") != path or not ours:
        with engine.begin() as conn:
            conn.execute(update(sources).where(sources.c.id == existing.id)
                         .values(config_json=json.dumps(config | {"path": path, "service_inbox": True}, sort_keys=True)))
