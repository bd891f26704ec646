"""Logging in through the fake last.fm with the real adapter: auth URL, token, the
user's consent in the browser, session; then through datm's AuthService."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from injector import Binder, Module
from lastfm_http import request
from lastfm_support import adapter_for

from datm.adapters.lastfm.pylast_lastfm import PylastLastfm
from datm.domain.errors import AuthenticationError, TokenRefused
from datm.fake_lastfm import FakeLastfm
from datm.ports.lastfm import LastfmPort
from datm.services.auth import AuthService
from datm.services.sessions import SessionChecker
from datm.settings import Settings
from datm.wiring import create_injector


def allow(fake: FakeLastfm, auth_url: str, user: str) -> int:
    """Play the user's browser: open the auth page as ``user``; the HTTP status."""
    url = urlsplit(auth_url)
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    return request(fake, {**query, "user": user}, http_method="GET", path=url.path).status


def test_the_auth_url_sends_the_user_to_the_fakes_auth_page_with_key_and_token(
    lastfm: PylastLastfm, fake: FakeLastfm
) -> None:
    token = lastfm.get_token()

    url = urlsplit(lastfm.auth_url(token=token))
    web = urlsplit(lastfm.auth_url(callback="https://game.example/back"))

    assert f"{url.scheme}://{url.netloc}" == fake.origin
    assert url.path == "/api/auth/"
    assert parse_qs(url.query) == {"api_key": [fake.api_key], "token": [token]}
    assert parse_qs(web.query)["cb"] == ["https://game.example/back"]


def test_a_token_the_user_allowed_becomes_a_session_for_that_user(
    lastfm: PylastLastfm, fake: FakeLastfm
) -> None:
    token = lastfm.get_token()

    assert allow(fake, lastfm.auth_url(token=token), "alice") == 200
    session = lastfm.get_session(token)

    assert session.user == "alice"
    assert len(session.key) == 32
    assert lastfm.authenticated_user(session.key).name  # the key signs calls
    assert fake.requests.of("auth.getToken") == fake.requests.of("auth.getSession") == 1


def test_a_token_not_allowed_never_issued_or_used_twice_is_refused(
    lastfm: PylastLastfm, fake: FakeLastfm
) -> None:
    token = lastfm.get_token()

    with pytest.raises(TokenRefused) as not_allowed:
        lastfm.get_session(token)
    with pytest.raises(TokenRefused):
        lastfm.get_session("never-issued")
    with pytest.raises(TokenRefused):
        lastfm.get_session("")
    fake.authorise(token, "alice")
    lastfm.get_session(token)
    with pytest.raises(TokenRefused):
        lastfm.get_session(token)

    assert isinstance(not_allowed.value, AuthenticationError)
    assert fake.requests.of("auth.getSession") == 4  # no retries; "" never sent


def test_the_session_key_is_in_no_repr_and_no_log_line(
    fake: FakeLastfm, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, pylast's and httpx's included
    lastfm = adapter_for(fake)
    token = lastfm.get_token()
    fake.authorise(token, "alice")

    session = lastfm.get_session(token)
    lastfm.authenticated_user(session.key)

    assert "auth.getSession" in caplog.text  # the log did see the exchange
    assert session.key not in caplog.text
    assert session.key not in repr(session)
    assert session.key not in repr(lastfm)
    assert fake.api_secret not in repr(lastfm)
    lastfm.close()


# --- through datm's services ----------------------------------------------------------------


class RealLastfm(Module):
    """Binds the port to the real adapter (the wiring will do this; tests do it by hand)."""

    def __init__(self, adapter: PylastLastfm) -> None:
        self._adapter = adapter

    def configure(self, binder: Binder) -> None:
        binder.bind(LastfmPort, to=self._adapter)  # type: ignore[type-abstract]


@dataclass(frozen=True)
class Game:
    auth: AuthService
    sessions: SessionChecker
    lastfm: PylastLastfm


@pytest.fixture
def game(fake: FakeLastfm) -> Iterator[Game]:
    """The in-memory game with the real adapter built from settings, as the wiring will."""
    settings = Settings(
        quote_secret="a-quote-secret-of-32-bytes-long!",
        lastfm_api_key=fake.api_key,
        lastfm_api_secret=fake.api_secret,
        lastfm_url=fake.url,
        lastfm_ca_file=str(fake.ca_file),
    )
    lastfm = PylastLastfm.from_settings(settings)
    injector = create_injector(settings, wiring="memory", extra=[RealLastfm(lastfm)])
    yield Game(injector.get(AuthService), injector.get(SessionChecker), lastfm)
    lastfm.close()


def test_logging_in_through_the_fake_creates_the_player_once_and_keeps_the_session_key(
    game: Game, fake: FakeLastfm
) -> None:
    auth = game.auth

    link = auth.login_link()
    assert link.token is not None and link.api_key == fake.api_key
    assert allow(fake, link.url, "carol") == 200
    first = auth.login(link.token)
    again_link = auth.login_link()
    assert again_link.token is not None
    fake.authorise(again_link.token, "carol")
    again = auth.login(again_link.token)

    assert (first.player, first.is_new, first.money) == ("carol", True, 20_000)
    assert (again.player, again.is_new) == ("carol", False)
    assert auth.check(first.session_key) == "carol"
    kept = game.sessions.require(first.session_key).lastfm_key
    assert game.lastfm.authenticated_user(kept).name  # the kept key still signs calls


def test_a_login_with_a_token_the_user_did_not_allow_is_an_authentication_error(
    game: Game,
) -> None:
    link = game.auth.login_link()
    assert link.token is not None

    with pytest.raises(AuthenticationError):
        game.auth.login(link.token)
