"""The game database on PostgreSQL, through SQLAlchemy 2 and psycopg2."""
