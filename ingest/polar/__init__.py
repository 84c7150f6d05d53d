"""Polar AccessLink v3 client (OAuth code flow, exercises, webhooks)."""
