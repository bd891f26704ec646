"""Alembic revisions, one file each; alembic loads them by path, not by import."""
