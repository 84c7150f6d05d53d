"""Persistence: SQLAlchemy Core tables that run on SQLite and PostgreSQL."""
