"""Example datm configuration. Copy to config.py (never commit real secrets) and
pass it to ``datm.create_injector(config)``; every setting can also come from
the environment as ``DATM_<NAME>``, which wins over this file.

Every value is checked once, when the injector is built: a bad one fails at start
with ``ConfigurationError`` naming the setting and what it accepts (the values
below are the defaults; the comment after ``|`` says what is allowed). Numbers
are whole where marked "whole" (the environment's "2" is fine, 2.7 or True are
not); seconds are finite (no NaN, no inf). An empty ``DATM_<NAME>`` unsets an
optional setting. A ``DATM_*`` variable that names no setting is refused, with
the nearest name (a typo such as ``DATM_QUOTE_SECRETT`` is no longer ignored).
Other names in this file are left alone: it may hold the program's own settings.
"""

# --- game database (api, analytics). Unset: the in-memory store (tests, demo).
# postgresql://[user[:password]@]host[:port]/database, or postgresql+psycopg2://,
# postgres://; a socket: postgresql://user@/database?host=/run/postgresql
DATABASE_URL = None  # e.g. "postgresql+psycopg2://game@db.internal:5432/scrobble"
POOL_SIZE = 5  # connections kept per process | whole, 1 to 100
MAX_OVERFLOW = 10  # extra connections under load | whole, 0 to 100
POOL_TIMEOUT_SECONDS = 10.0  # wait for a free connection, then a transient error | > 0, <= 300

# --- last.fm. Unset key: the offline catalogue bundled with datm (no network).
# Key and secret go together: both (real last.fm) or neither (offline).
LASTFM_API_KEY = None  # public key of the game's API account | no spaces or control characters
LASTFM_API_SECRET = None  # its shared secret: from the environment only | as the key
LASTFM_URL = None  # another endpoint, e.g. the fake server | https://host[:port][/path]
LASTFM_CA_FILE = None  # CA bundle to trust for LASTFM_URL | a readable PEM file
LASTFM_TIMEOUT_SECONDS = 10.0  # one HTTP request, then a transient error | > 0, <= 120
LASTFM_RETRIES = 4  # retries of transient failures, exponential back-off | whole, 0 to 10
LASTFM_RATE_PER_SECOND = 5.0  # requests per second per key, all processes | 1/60 to 1000
# While Redis is down, each process alone takes this share of the rate (and of the
# close's); 1/N keeps N processes (close processes too) within it. Without Redis: unused.
LASTFM_FALLBACK_SHARE = 0.25  # | a fraction from 0.001 to 1

# How long each kind of last.fm answer is reused (per process, and shared via Redis).
# Each: 0 (do not reuse) to 2592000 (30 days).
LASTFM_CACHE_ARTIST_SECONDS = 3600.0  # artist.getInfo: listeners and plays move over hours
LASTFM_CACHE_CORRECTION_SECONDS = 86400.0  # a name's correction almost never changes
LASTFM_CACHE_SIMILAR_SECONDS = 86400.0  # similar artists
LASTFM_CACHE_SEARCH_SECONDS = 600.0  # artist search
LASTFM_CACHE_CHART_SECONDS = 3600.0  # global, country and tag charts
LASTFM_CACHE_USER_SECONDS = 300.0  # user profiles, top artists and libraries
LASTFM_CACHE_MAX_ENTRIES = 10000  # in-process entries, LRU first out | whole, 1 to 10000000

# --- shared cache and rate limit across processes, and (with a database) the
# leaderboards' read model. Unset: each process on its own; leaderboards counted in SQL.
# redis://[[user]:password@]host[:port][/db], rediss://... (TLS; may add
# ?ssl_cert_reqs=, ssl_ca_certs=, ssl_check_hostname=) or unix:///path/redis.sock[?db=N].
# Other query arguments are refused: datm sets the timeouts itself.
REDIS_URL = None  # e.g. "redis://cache.internal:6379/0"
REDIS_TIMEOUT_SECONDS = 0.25  # per call; past it datm falls back to the process | > 0, <= 60

# --- trading
# >= 16 bytes of UTF-8, no spaces or newline at either end, the same in every api
# process; from the environment. Unset: random per process (memory), else stored
# in the database.
QUOTE_SECRET = None
QUOTE_VALIDITY_SECONDS = 15.0  # how long a price guarantee holds | > 0, <= 3600
LOCK_TIMEOUT_SECONDS = 5.0  # longest wait for a row lock before retrying | 0.001 to 600
SESSION_CACHE_SECONDS = 10.0  # a process remembers a valid session key | 0 (never) to 3600

# --- analytics
MARKET_LOCK_TIMEOUT_SECONDS = 60.0  # the close waits this long for trades | > 0, <= 3600
# The close's last.fm requests: within this share of LASTFM_RATE_PER_SECOND (all close
# processes together, with Redis), and within the rate shared with the api; the api
# keeps the rest. Past every cache.
CLOSE_LASTFM_SHARE = 0.8  # | a fraction > 0, <= 1
CLOSE_FETCH_WORKERS = 8  # threads fetching artists' numbers at once | whole, 1 to 64
# Payment: the holders of record by ranges of names, about this many holdings per
# transaction (their trades wait for it), then the artists closed, this many per one.
CLOSE_PAY_HOLDINGS = 100000  # | whole, 1 to 10000000
CLOSE_PAY_BATCH = 10000  # artists closed per transaction | whole, 1 to 100000
# Through a run of last.fm failures the close pauses fetching (with back-off) this
# long before it ends the run unfinished (run it again to finish it).
CLOSE_OUTAGE_SECONDS = 600.0  # | 0 (end at the first outage) to 86400

# --- datm.aio (asyncio programs)
# Calls running at once, each on a thread of datm.aio's own; the rest wait in a
# queue, not as threads. Every thread shares the event loop's GIL: more threads than
# database connections (POOL_SIZE + MAX_OVERFLOW) only wait, and delay the loop.
AIO_MAX_CALLS = 16  # | whole, 1 to 1024
# On Linux, how much lower the worker threads' CPU priority is than the loop's, so
# that a busy machine runs the loop first (0: the same priority).
AIO_WORKER_NICE = 10  # | whole, 0 to 19
