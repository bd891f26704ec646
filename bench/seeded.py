"""A copy of a game made by ``datm dev seed``, for a benchmark to change at will:
``CREATE DATABASE ... TEMPLATE``, then migrated to this datm's schema."""

from __future__ import annotations

from typing import Any

import psycopg2

from datm.adapters.postgres import migrate

SERVER = "postgresql://postgres@127.0.0.1:5432/"


def connect(url: str) -> Any:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def copy_template(server: str, template: str, name: str) -> str:
    """The URL of a fresh copy of ``template`` called ``name``, at the schema's head."""
    admin = connect(server + "postgres")
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    admin.close()
    migrate.upgrade(server + name)
    return server + name


def drop_copy(server: str, name: str) -> None:
    admin = connect(server + "postgres")
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()
