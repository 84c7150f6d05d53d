"""metrics tables (see heavylegs.store.meta)."""
from __future__ import annotations
