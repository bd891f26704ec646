"""A failure to connect says why, and is transient only when a retry may fix it.

Against the real server: a port nobody listens on, a database and a role that do
not exist, SSL the server does not offer, a bad option, through a service call of
a real injector (the first use of its engine). What the shared test server cannot
be made to do (refuse a password, be starting up, show a certificate) comes from
``fake_postgres``, a listener that refuses as a server would, so that libpq still
writes the message datm reads.
"""

from __future__ import annotations

import socket
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import fake_postgres
import postgres_support
import pytest

postgres_support.require_postgres_packages()

import psycopg2  # noqa: E402
import trustme  # noqa: E402
from sqlalchemy import Engine, create_engine, pool  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from datm import create_injector  # noqa: E402
from datm.adapters.postgres import connect_errors  # noqa: E402
from datm.adapters.postgres.engine import make_engine  # noqa: E402
from datm.adapters.postgres.errors import DatabaseUnavailable, translate, translated  # noqa: E402
from datm.adapters.postgres.transaction import Transaction  # noqa: E402
from datm.domain.errors import (  # noqa: E402
    ConfigurationError,
    DatabaseRefused,
    DatmError,
    TransientError,
)
from datm.services.market import MarketService  # noqa: E402
from datm.settings import Settings  # noqa: E402

pytestmark = pytest.mark.postgres

PASSWORD = "hunter2-never-shown"


def server_url(**parts: object) -> str:
    """The test server's URL with some parts changed (host, port, database, ...)."""
    url = make_url(postgres_support.require_postgres()).set(**parts)  # type: ignore[arg-type]
    return url.render_as_string(hide_password=False)


def first_use(url: str) -> DatmError:
    """What the first service call of a program configured with ``url`` raises."""
    injector = create_injector({"DATABASE_URL": url, "QUOTE_SECRET": "x" * 32}, environ={})
    try:
        with pytest.raises(DatmError) as caught:
            injector.get(MarketService).top_by_price()
    finally:
        injector.get(Engine).dispose()
    return caught.value


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_no_secret(error: DatmError) -> None:
    assert PASSWORD not in str(error)
    assert PASSWORD not in repr(error.fields)


# --- against the real server ---------------------------------------------------


def test_a_port_nobody_listens_on_is_transient_and_says_refused_at_host_port() -> None:
    port = free_port()

    error = first_use(server_url(port=port))

    assert isinstance(error, DatabaseUnavailable) and isinstance(error, TransientError)
    assert f"refused at 127.0.0.1:{port}" in error.message
    assert isinstance(error.__cause__, psycopg2.OperationalError)


def test_a_missing_database_is_a_configuration_error_naming_it() -> None:
    name = f"datm_missing_{uuid.uuid4().hex[:8]}"

    error = first_use(server_url(database=name))

    assert isinstance(error, DatabaseRefused) and isinstance(error, ConfigurationError)
    assert not isinstance(error, TransientError)
    assert (error.reason, error.server, error.family) == (
        "no_database",
        "127.0.0.1:5432",
        "programming",
    )
    assert error.fields["setting"] == "DATABASE_URL"
    assert f'no database "{name}"' in error.message and "127.0.0.1:5432" in error.message


def test_a_missing_role_is_a_configuration_error_naming_it_and_never_the_password() -> None:
    role = f"datm_nobody_{uuid.uuid4().hex[:8]}"

    error = first_use(server_url(username=role, password=PASSWORD))

    assert isinstance(error, DatabaseRefused)
    assert error.reason == "no_role"
    assert f'no role "{role}"' in error.message
    assert_no_secret(error)


def test_ssl_required_of_a_server_without_it_is_a_configuration_error() -> None:
    error = first_use(server_url(query={"sslmode": "require"}))

    assert isinstance(error, DatabaseRefused) and error.reason == "ssl"
    assert "does not offer SSL" in error.message


def test_an_unknown_connection_option_is_a_configuration_error() -> None:
    error = first_use(server_url(query={"no_such_option": "1"}))

    assert isinstance(error, DatabaseRefused) and error.reason == "bad_option"
    assert "no_such_option" in error.message


def test_a_host_name_dns_does_not_know_is_a_configuration_error() -> None:
    """.invalid never resolves (RFC 6761). Only a resolver that cannot answer at all
    makes it a temporary failure, which is transient: then this test has nothing
    to show."""
    error = first_use(server_url(host="no-such-host.invalid"))

    if "just now" in error.message:
        pytest.skip(f"the resolver is not answering here: {error.message}")
    assert isinstance(error, DatabaseRefused) and error.reason == "unknown_host"
    assert '"no-such-host.invalid"' in error.message


def test_the_failure_says_the_same_on_every_path_of_the_engine() -> None:
    """A unit of work's raw connection, a pooled Connection, the migrations' engine."""
    url = server_url(port=free_port())
    engine = make_engine(Settings(database_url=url))
    try:
        with pytest.raises(DatabaseUnavailable) as raw:
            Transaction(engine)
        with pytest.raises(DatabaseUnavailable) as pooled, translated(), engine.connect():
            pass
    finally:
        engine.dispose()
    from datm.adapters.postgres import migrate

    with pytest.raises(DatabaseUnavailable) as migrating:
        migrate.upgrade(url)

    assert raw.value.message == pooled.value.message == migrating.value.message


def test_a_driver_error_from_a_connect_datm_did_not_make_is_classified_too() -> None:
    """translate() reads the server from libpq's own message when it has no target."""
    port = free_port()
    with pytest.raises(psycopg2.OperationalError) as caught:
        psycopg2.connect(host="127.0.0.1", port=port, dbname="x", user="x", password=PASSWORD)

    error = translate(caught.value)

    assert isinstance(error, DatabaseUnavailable)
    assert f"connection refused at 127.0.0.1:{port}" in error.message


# --- refusals the shared server cannot be made to give: a fake one ------------


def fake_url(port: int, **query: str) -> str:
    return f"postgresql://game:{PASSWORD}@127.0.0.1:{port}/game" + (
        "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    )


REFUSALS = [
    pytest.param(
        fake_postgres.password_then_fatal(
            "28P01", 'password authentication failed for user "game"'
        ),
        "bad_password",
        'refused the password of role "game"',
        id="wrong-password",
    ),
    pytest.param(
        fake_postgres.fatal(
            "28000",
            'no pg_hba.conf entry for host "127.0.0.1", user "game", database "game", '
            "no encryption",
        ),
        "not_allowed",
        "no pg_hba.conf entry",
        id="no-pg-hba-entry",
    ),
    pytest.param(
        fake_postgres.fatal("28000", 'role "game" is not permitted to log in'),
        "not_allowed",
        'does not let role "game" log in',
        id="role-without-login",
    ),
]


@pytest.mark.parametrize(("behaviour", "reason", "said"), REFUSALS)
def test_a_refusal_no_retry_fixes_is_a_configuration_error(
    behaviour: fake_postgres.Behaviour, reason: str, said: str
) -> None:
    with fake_postgres.serving(behaviour) as port:
        error = first_use(fake_url(port))

    assert isinstance(error, DatabaseRefused) and error.reason == reason
    assert said in error.message and f"127.0.0.1:{port}" in error.message
    assert_no_secret(error)


def test_a_password_asked_for_and_not_given_is_a_configuration_error() -> None:
    behaviour = fake_postgres.password_then_fatal("28P01", "never reached")
    with fake_postgres.serving(behaviour) as port:
        error = first_use(f"postgresql://game@127.0.0.1:{port}/game")

    assert isinstance(error, DatabaseRefused) and error.reason == "no_password"
    assert 'password for role "game"' in error.message


PASSING = [
    pytest.param("57P03", "the database system is starting up", "is starting up", id="starting"),
    pytest.param(
        "57P03", "the database system is shutting down", "is shutting down", id="shutting-down"
    ),
    pytest.param(
        "57P03",
        "the database system is not yet accepting connections",
        "is not yet accepting connections",
        id="recovering",
    ),
    pytest.param("53300", "sorry, too many clients already", "no connection slot", id="full"),
    pytest.param(
        "53300",
        "remaining connection slots are reserved for roles with the SUPERUSER attribute",
        "no connection slot",
        id="reserved-slots",
    ),
]


@pytest.mark.parametrize(("sqlstate", "fatal", "said"), PASSING)
def test_a_server_that_may_accept_later_is_transient(sqlstate: str, fatal: str, said: str) -> None:
    with fake_postgres.serving(fake_postgres.fatal(sqlstate, fatal)) as port:
        error = first_use(fake_url(port))

    assert isinstance(error, DatabaseUnavailable)
    assert said in error.message and f"127.0.0.1:{port}" in error.message
    assert_no_secret(error)


def test_a_server_that_never_answers_is_a_transient_timeout() -> None:
    """An engine of its own, as datm's, but with libpq's shortest timeout (2 s)."""
    with fake_postgres.serving(fake_postgres.silent) as port:
        engine = create_engine(
            fake_url(port).replace("postgresql:", "postgresql+psycopg2:"),
            poolclass=pool.NullPool,
            connect_args={"connect_timeout": 2},
        )
        connect_errors.install(engine)
        try:
            with pytest.raises(DatabaseUnavailable) as caught, engine.connect():
                pass
        finally:
            engine.dispose()

    assert caught.value.message.endswith(f"(no answer from 127.0.0.1:{port} within 2 s)")


def test_a_message_datm_cannot_read_is_transient_with_libpqs_own_words() -> None:
    """A server whose messages are translated (lc_messages) is not understood:
    transient, the safe side, and the operator still reads what the server said."""
    fatal = "la base de données « game » n'existe pas"
    with fake_postgres.serving(fake_postgres.fatal("3D000", fatal)) as port:
        error = first_use(fake_url(port))

    assert isinstance(error, DatabaseUnavailable)
    assert fatal in error.message and f"127.0.0.1:{port}" in error.message


# --- the CA file and the server's certificate -----------------------------------


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_port(authority: trustme.CA) -> Iterator[int]:
    """A fake server with SSL, its certificate for 127.0.0.1 from ``authority``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    with fake_postgres.serving(fake_postgres.fatal("28000", "past TLS"), context) as port:
        yield port


def test_a_missing_ca_file_is_a_configuration_error_naming_the_file(tls_port: int) -> None:
    error = first_use(
        fake_url(tls_port, sslmode="verify-full", sslrootcert="/nonexistent/datm-ca.pem")
    )

    assert isinstance(error, DatabaseRefused) and error.reason == "ca_file"
    assert "the CA file /nonexistent/datm-ca.pem (sslrootcert) does not exist" in error.message


def test_a_ca_file_without_certificates_is_a_configuration_error(
    tls_port: int, tmp_path: Path
) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")

    error = first_use(fake_url(tls_port, sslmode="verify-full", sslrootcert=str(garbage)))

    assert isinstance(error, DatabaseRefused) and error.reason == "ca_file"
    assert f"the CA file {garbage} (sslrootcert) cannot be read" in error.message


def test_a_ca_that_did_not_sign_the_servers_certificate_is_a_configuration_error(
    tls_port: int, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))

    error = first_use(fake_url(tls_port, sslmode="verify-full", sslrootcert=str(other)))

    assert isinstance(error, DatabaseRefused) and error.reason == "certificate"
    assert "not signed by the CA" in error.message


def test_a_certificate_for_another_host_is_a_configuration_error(
    authority: trustme.CA, tmp_path: Path
) -> None:
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("db.example").configure_cert(context)
    with fake_postgres.serving(fake_postgres.fatal("28000", "past TLS"), context) as port:
        error = first_use(fake_url(port, sslmode="verify-full", sslrootcert=str(ca_file)))

    assert isinstance(error, DatabaseRefused) and error.reason == "certificate"
    assert 'a certificate for "db.example"' in error.message


def test_the_right_ca_gets_past_tls_to_what_the_server_says(
    authority: trustme.CA, tls_port: int, tmp_path: Path
) -> None:
    """The CA tests above fail for the CA, not for the fake's TLS."""
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))

    error = first_use(fake_url(tls_port, sslmode="verify-full", sslrootcert=str(ca_file)))

    assert "past TLS" in error.message
