"""The start of a script run in a fresh interpreter to show that a wiring never
imports a database driver: it records every attempt, and ``DRIVERS_LOADED``
says which got loaded anyway."""

from __future__ import annotations

PRELUDE = """
import json, sys

class Watch:
    attempted = []
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("sqlalchemy", "psycopg2"):
            self.attempted.append(name)
        return None

sys.meta_path.insert(0, Watch())

def DRIVERS_LOADED():
    return sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "psycopg2"))
"""
