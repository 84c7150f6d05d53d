"""Moved to ``heavylegs.bodies`` (below the sources' webhook routes, which read bodies too)."""
from heavylegs.bodies import (  # noqa: F401  kept until sources/polar_routes.py and strava/routes.py import the new home
    BodyError,
    BodyLimitMiddleware,
    parse_json,
    read_body,
    read_json_body,
)
