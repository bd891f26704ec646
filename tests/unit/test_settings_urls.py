"""DATABASE_URL, REDIS_URL, LASTFM_URL and LASTFM_CA_FILE: what each accepts, and
that what datm accepts, the library that later reads it accepts too (so that no
provider meets a URL its library refuses). Settings parse the URLs themselves:
the web's wiring imports no database driver (tests/e2e/test_wirings.py)."""

from __future__ import annotations

import os
from pathlib import Path

import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from datm.domain.errors import ConfigurationError
from datm.settings import Settings
from datm.wiring import create_injector

GOOD_DATABASE_URLS = [
    "postgresql://db.internal/scrobble",
    "postgresql+psycopg2://game:s3cret%40x@db.internal:5432/scrobble",
    "postgres://game@127.0.0.1/scrobble",
    "postgresql://game@/scrobble?host=/run/postgresql",
    "postgresql://[::1]:5432/scrobble?sslmode=require",
    "postgresql://game:pa:ss@db_1.internal:1/x",
]
BAD_DATABASE_URLS = [
    ("garbage", "not a postgresql:// URL"),
    ("mysql://game@db/scrobble", "not a postgresql:// URL"),
    ("postgresql+asyncpg://game@db/scrobble", "not a postgresql:// URL"),
    ("POSTGRESQL://db/scrobble", "not a postgresql:// URL"),
    ("postgresql://db.internal", "without a database name"),
    ("postgresql://db.internal/", "without a database name"),
    ("postgresql:///scrobble", "without a host"),
    ("postgresql://game@/scrobble?sslmode=require", "without a host"),
    ("postgresql://db:abc/scrobble", "port"),
    ("postgresql://db:70000/scrobble", "port"),
    ("postgresql://db:0/scrobble", "port"),
    ("postgresql://game:p@ss@db/scrobble", "an @ in its user or password"),
    ("postgresql://db%/scrobble", "not a host name"),
    ("postgresql://[zz::1]/scrobble", "IPv6"),
    (" postgresql://db/scrobble", "spaces or control characters"),
    ("postgresql://db/scrobble\n", "spaces or control characters"),
]
GOOD_REDIS_URLS = [
    "redis://cache.internal",
    "redis://cache.internal:6379/0",
    "redis://:pass@cache:6379/15",
    "redis://user:pass@cache/3?db=4",
    "rediss://cache:6380/0?ssl_cert_reqs=none&ssl_check_hostname=false",
    "rediss://cache?ssl_ca_certs=/etc/ssl/ca.pem",
    "unix:///run/redis/redis.sock",
    "unix:///run/redis/redis.sock?db=2",
]
BAD_REDIS_URLS = [
    ("garbage", "not a redis://"),
    ("http://cache:6379/0", "not a redis://"),
    ("REDIS://cache:6379/0", "not a redis://"),
    ("redis://", "without a host"),
    ("redis://:pw@/0", "without a host"),
    ("redis://cache:abc/0", "port"),
    ("redis://cache:0/0", "port"),
    ("redis://cache:6379/zero", "not a database number"),
    ("redis://cache:6379/0?db=x", "db= is not a database number"),
    ("redis://cache:6379/0?socket_timeout=1", "query argument datm does not pass on"),
    ("redis://cache:6379/0?ssl_cert_reqs=none", "query argument datm does not pass on"),
    ("rediss://cache:6379/0?ssl_cert_reqs=maybe", "TLS query argument"),
    ("redis://cache:6379/0#x", "fragment"),
    ("unix://redis.sock", "absolute path"),
    ("redis://[::1", "not a URL"),
    ("redis://cache:6379/0 ", "spaces or control characters"),
]
GOOD_LASTFM_URLS = [
    "https://127.0.0.1:8443/2.0/",
    "https://ws.audioscrobbler.com/2.0/",
    "https://[::1]:8443",
]
BAD_LASTFM_URLS = [
    ("http://ws.audioscrobbler.com/2.0/", "not an https:// URL"),
    ("garbage", "not an https:// URL"),
    ("https://", "without a host"),
    ("https://user:pw@fake/2.0/", "user or password"),
    ("https://fake:99999/2.0/", "port"),
    ("https://fake/2.0/?format=json", "query"),
    ("https://fake/2.0/#top", "query or #fragment"),
    ("https://[::1", "not a URL"),
]


def problem_of(setting: str, value: object) -> str:
    with pytest.raises(ConfigurationError) as caught:
        create_injector({setting: value}, environ={})
    assert caught.value.fields["setting"] == setting
    return str(caught.value.fields["problem"])


# --- DATABASE_URL ----------------------------------------------------------------


@pytest.mark.parametrize("url", GOOD_DATABASE_URLS)
def test_a_postgres_url_with_a_host_and_database_loads_as_given(url: str) -> None:
    assert Settings(database_url=url).database_url == url


@pytest.mark.parametrize(("url", "problem"), BAD_DATABASE_URLS)
def test_a_database_url_datm_cannot_use_is_refused_at_start(url: str, problem: str) -> None:
    assert problem in problem_of("DATABASE_URL", url)


def test_an_empty_database_url_means_the_in_memory_store() -> None:
    assert Settings.load(None, environ={"DATM_DATABASE_URL": ""}).database_url is None


@pytest.mark.parametrize("url", GOOD_DATABASE_URLS)
def test_sqlalchemy_and_the_engine_read_an_accepted_url_as_datm_did(url: str) -> None:
    pytest.importorskip("sqlalchemy")
    from sqlalchemy.engine import make_url

    from datm.adapters.postgres.engine import normalise_url

    parsed = make_url(normalise_url(url))
    assert parsed.get_backend_name() == "postgresql" and parsed.database
    assert parsed.host or parsed.query.get("host")


URL_PARTS = st.builds(
    lambda scheme, user, host, port, db, query: f"{scheme}://{user}{host}{port}{db}{query}",
    st.sampled_from(["postgresql", "postgres", "postgresql+psycopg2", "mysql", "Postgresql"]),
    st.sampled_from(["", "u@", "u:p@", "u:p@x@", "u:p/q@", ":@", "u:%40@"]),
    st.sampled_from(["", "db", "db.internal", "[::1]", "[::1", "d b", "db%", "@", "h,h2"]),
    st.sampled_from(["", ":", ":5432", ":0", ":x", ":99999", ":5432:1"]),
    st.sampled_from(["", "/", "/game", "/g/x", "/%41", "/g?x"]),
    st.sampled_from(["", "?host=/run/pg", "?sslmode=require", "?host=", "?a=b=c", "#f"]),
)


@hypothesis.settings(max_examples=400, deadline=None)
@given(url=st.one_of(URL_PARTS, st.text(max_size=40)))
def test_any_database_url_datm_accepts_the_engine_accepts_with_host_and_database(
    url: str,
) -> None:
    pytest.importorskip("sqlalchemy")
    from sqlalchemy.engine import make_url

    from datm.adapters.postgres.engine import normalise_url

    try:
        accepted = Settings(database_url=url).database_url
    except ConfigurationError:
        return
    if accepted is None:  # "" means unset
        return
    parsed = make_url(normalise_url(accepted))
    assert parsed.drivername == "postgresql+psycopg2"
    assert parsed.database and (parsed.host or parsed.query.get("host"))
    assert parsed.port is None or 1 <= parsed.port <= 65535


# --- REDIS_URL -------------------------------------------------------------------


@pytest.mark.parametrize("url", GOOD_REDIS_URLS)
def test_a_redis_url_loads_and_redis_py_builds_a_client_for_it(url: str) -> None:
    redis = pytest.importorskip("redis")

    assert Settings(redis_url=url).redis_url == url
    client = redis.Redis.from_url(url)  # no IO: connects at the first command
    client.connection_pool.make_connection()  # every keyword is one the connection takes
    client.close()


@pytest.mark.parametrize(("url", "problem"), BAD_REDIS_URLS)
def test_a_redis_url_datm_cannot_use_is_refused_at_start(url: str, problem: str) -> None:
    assert problem in problem_of("REDIS_URL", url)


# --- LASTFM_URL ------------------------------------------------------------------


@pytest.mark.parametrize("url", GOOD_LASTFM_URLS)
def test_an_https_lastfm_url_loads_and_the_endpoint_takes_it(url: str) -> None:
    pytest.importorskip("pylast")
    from datm.adapters.lastfm.network import LastfmEndpoint

    assert Settings(lastfm_url=url).lastfm_url == url
    assert LastfmEndpoint.from_url(url).host


@pytest.mark.parametrize(("url", "problem"), BAD_LASTFM_URLS)
def test_a_lastfm_url_datm_cannot_use_is_refused_at_start(url: str, problem: str) -> None:
    assert problem in problem_of("LASTFM_URL", url)


# --- LASTFM_CA_FILE --------------------------------------------------------------


@pytest.fixture
def ca_pem(tmp_path: Path) -> Path:
    trustme = pytest.importorskip("trustme")
    path = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


def test_a_readable_pem_ca_file_loads_as_a_path_or_text(ca_pem: Path) -> None:
    assert Settings(lastfm_ca_file=str(ca_pem)).lastfm_ca_file == str(ca_pem)
    assert Settings(lastfm_ca_file=ca_pem).lastfm_ca_file == str(ca_pem)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda tmp: tmp / "missing.pem", "not an existing file"),
        (lambda tmp: tmp, "not an existing file"),  # a directory
        (lambda tmp: _write(tmp / "notes.txt", "not a certificate\n"), "not a PEM file"),
        (lambda tmp: _write(tmp / "empty.pem", ""), "not a PEM file"),
    ],
)
def test_a_ca_file_that_is_missing_or_not_certificates_is_refused_at_start(
    tmp_path: Path, make: object, problem: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]

    assert problem in problem_of("LASTFM_CA_FILE", str(path))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_ca_file_is_refused_at_start(ca_pem: Path) -> None:
    ca_pem.chmod(0)

    assert "may not read" in problem_of("LASTFM_CA_FILE", str(ca_pem))


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
