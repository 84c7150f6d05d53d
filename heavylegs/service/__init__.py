"""The long-running service: scheduler, sources, web endpoint."""
