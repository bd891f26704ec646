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

# --- shared cache and rate limit across processes
REDIS_URL = None  # e.g. "redis://cache.internal:6379/0"

# --- trading
QUOTE_SECRET = None  # >= 16 bytes, the same in every api process; from the environment
QUOTE_VALIDITY_SECONDS = 15.0  # how long a price guarantee holds
LOCK_TIMEOUT_SECONDS = 5.0  # longest wait for a row lock before retrying
SESSION_CACHE_SECONDS = 10.0  # how long a process remembers a valid session key (0: never)

# --- analytics
MARKET_LOCK_TIMEOUT_SECONDS = 60.0  # the close waits this long for trades in flight
