"""Redis, shared by every datm process on every machine: the last.fm result cache
(``cache``) and the last.fm rate limit (``rate_limit``), on one client (``client``).

Redis is an optimisation here, never a dependency of correctness: when it is down
each piece falls back to its in-process counterpart and datm keeps serving.
"""
