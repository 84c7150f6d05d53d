"""Garmin Connect Personal API: the HTTP client and the activity-summary mapping.

Nothing here touches the database; ``heavylegs.sources.garmin`` supplies the
key, caches the token and stores what is downloaded.
"""
