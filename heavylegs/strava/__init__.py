"""Strava: OAuth tokens, sync, backfill and webhooks (service side)."""
