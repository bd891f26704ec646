"""Rate limiters of outgoing last.fm requests: in-process here (``window``); the
one shared by every process is ``datm.adapters.redis.rate_limit``; ``combined``
holds a request to two limits at once (the close's share and the shared rate)."""
