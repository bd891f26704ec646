"""Example datm configuration. Copy to config.py (never commit real secrets) and
pass it to ``datm.create_injector(config)``; every setting can also come from
the environment as ``DATM_<NAME>``, which wins over this file."""

# --- game database (api, analytics). Unset: the in-memory store (tests, demo).
DATABASE_URL = None  # e.g. "postgresql+psycopg2://game@db.internal:5432/scrobble"
POOL_SIZE = 5  # connections kept per process
MAX_OVERFLOW = 10  # extra connections under load
POOL_TIMEOUT_SECONDS = 10.0  # wait for a free connection, then a transient error

# --- last.fm. Unset key: the offline catalogue bundled with datm (no network).
LASTFM_API_KEY = None  # public key of the game's last.fm API account
LASTFM_API_SECRET = None  # its shared secret: set it from the environment only
LASTFM_URL = None  # another last.fm endpoint, e.g. the fake server in tests
LASTFM_CA_FILE = None  # CA bundle to trust for LASTFM_URL
LASTFM_TIMEOUT_SECONDS = 10.0  # one HTTP request to last.fm, then a transient error
LASTFM_RETRIES = 4  # retries of transient last.fm failures, with exponential back-off
LASTFM_RATE_PER_SECOND = 5.0  # requests per second per API key, shared by all processes

# How long each kind of last.fm answer is reused (per process, and shared via Redis).
LASTFM_CACHE_ARTIST_SECONDS = 3600.0  # artist.getInfo: listeners and plays move over hours
LASTFM_CACHE_CORRECTION_SECONDS = 86400.0  # a name's correction almost never changes
LASTFM_CACHE_SIMILAR_SECONDS = 86400.0  # similar artists
LASTFM_CACHE_SEARCH_SECONDS = 600.0  # artist search
LASTFM_CACHE_CHART_SECONDS = 3600.0  # global, country and tag charts
LASTFM_CACHE_USER_SECONDS = 300.0  # user profiles, top artists and libraries
LASTFM_CACHE_MAX_ENTRIES = 10000  # in-process entries (least recently used go first)

# --- shared cache and rate limit across processes. Unset: each process on its own.
REDIS_URL = None  # e.g. "redis://cache.internal:6379/0"
REDIS_TIMEOUT_SECONDS = 0.25  # per Redis call; past it datm falls back to the process

# --- trading
QUOTE_SECRET = None  # >= 16 bytes, the same in every api process; from the environment
QUOTE_VALIDITY_SECONDS = 15.0  # how long a price guarantee holds
LOCK_TIMEOUT_SECONDS = 5.0  # longest wait for a row lock before retrying
SESSION_CACHE_SECONDS = 10.0  # how long a process remembers a valid session key (0: never)

# --- analytics
MARKET_LOCK_TIMEOUT_SECONDS = 60.0  # the close waits this long for trades in flight
