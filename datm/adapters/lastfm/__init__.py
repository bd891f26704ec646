"""last.fm through pylast, and the cache in front of it (``caching``)."""
