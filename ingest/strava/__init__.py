"""Strava API: HTTP client, rate-limit budget and stream -> Activity mapping.

Nothing here touches the database; ``heavylegs.strava`` supplies tokens and
stores what this package fetches.
"""
