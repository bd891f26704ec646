"""The alembic environment and revisions (a package so setuptools ships it)."""
