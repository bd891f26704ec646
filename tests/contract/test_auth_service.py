"""AuthService on every backend: the API key, the login link, logging in, sessions."""

from __future__ import annotations

import dataclasses
import secrets
import string
from urllib.parse import parse_qs, urlparse

import expected
import pytest
from harness import Game, unique_name

from datm.domain.errors import AuthenticationError, NotAuthenticated, TokenRefused
from datm.domain.sessions import hash_session_key
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.results import LoginLink, LoginResult

pytestmark = pytest.mark.through_aio  # its cases run through datm.aio too

URL_SAFE = set(string.ascii_letters + string.digits + "-_")


def test_api_key_is_the_game_key_that_last_fm_knows(game: Game) -> None:
    assert game.auth.api_key() == game.lastfm.api_key
    assert isinstance(game.auth.api_key(), str) and game.auth.api_key()


def test_login_link_without_callback_carries_a_fresh_token_in_its_url(game: Game) -> None:
    first = game.auth.login_link()
    second = game.auth.login_link()

    assert isinstance(first, LoginLink)
    assert first.api_key == game.lastfm.api_key
    assert first.token and second.token and first.token != second.token
    query = parse_qs(urlparse(first.url).query)
    assert query["token"] == [first.token]
    assert query["api_key"] == [first.api_key]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.token = "other"  # type: ignore[misc]


def test_login_link_with_callback_sends_the_user_back_without_a_token(game: Game) -> None:
    callback = "https://scrobble.exchange/login/done?next=/market"

    link = game.auth.login_link(callback=callback)

    assert link.token is None
    query = parse_qs(urlparse(link.url).query)
    assert query["cb"] == [callback]
    assert query["api_key"] == [game.lastfm.api_key]


def test_first_login_creates_a_bronze_player_with_starting_money(game: Game) -> None:
    name = unique_name()

    login = game.login(name)

    assert isinstance(login, LoginResult)
    assert login.player == name
    assert login.is_new is True
    assert login.league == expected.DEFAULT_LEAGUE
    assert login.money == expected.STARTING_MONEY
    assert game.players.money(login.session_key) == expected.STARTING_MONEY
    profile = game.players.profile(name)
    assert profile.league == expected.DEFAULT_LEAGUE
    assert (profile.points.all_time, profile.points.daily) == (0, 0)
    assert (profile.points.weekly, profile.points.monthly) == (0, 0)
    assert profile.holdings == () and profile.trades == () and profile.trophies == ()
    assert game.analytics.counts().players == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        login.money = 1_000_000  # type: ignore[misc]


def test_second_login_finds_the_same_player_with_a_new_session_key(game: Game) -> None:
    name = unique_name()
    first = game.login(name)

    second = game.login(name)

    assert second.player == name
    assert second.is_new is False
    assert second.session_key != first.session_key
    assert game.auth.check(first.session_key) == name
    assert game.auth.check(second.session_key) == name
    assert game.analytics.counts().players == 1


def test_second_login_keeps_the_money_spent_since_the_first(game: Game) -> None:
    first = game.login()
    artist = game.affordable()[-1]
    receipt = game.buy(first, artist.mbid)

    second = game.login(first.player)

    assert second.is_new is False
    assert second.money == expected.STARTING_MONEY - receipt.price
    assert second.league == expected.DEFAULT_LEAGUE
    assert [h.market.mbid for h in game.players.profile(first.player).holdings] == [artist.mbid]


def test_session_keys_carry_at_least_128_random_bits_and_never_repeat(game: Game) -> None:
    name = unique_name()
    keys = [game.login(name).session_key for _ in range(3)]
    keys += [game.login().session_key for _ in range(3)]

    assert len(set(keys)) == len(keys)
    for key in keys:
        # 22 characters of the 64-letter URL-safe alphabet hold 132 bits.
        assert set(key) <= URL_SAFE
        assert len(key) >= 22


def test_the_store_keeps_only_a_hash_of_each_session_key(game: Game) -> None:
    name = unique_name()
    keys = [game.login(name).session_key for _ in range(2)]

    with game.get(UnitOfWorkFactory)() as uow:  # type: ignore[type-abstract]
        for key in keys:
            assert uow.sessions.find(key) is None
            stored = uow.sessions.find(hash_session_key(key))
            assert stored is not None
            assert stored.player == name
            assert stored.key_hash != key
            assert all(key not in str(value) for value in dataclasses.astuple(stored))


def test_login_result_repr_hides_the_session_key(game: Game) -> None:
    login = game.login()

    assert login.session_key not in repr(login)


def test_login_with_a_token_last_fm_never_issued_is_refused_and_creates_nobody(
    game: Game,
) -> None:
    with pytest.raises(TokenRefused) as refused:
        game.auth.login(secrets.token_hex(16))

    assert isinstance(refused.value, AuthenticationError)
    assert game.analytics.counts().players == 0


def test_login_with_a_token_the_user_did_not_allow_is_refused(game: Game) -> None:
    link = game.auth.login_link()
    assert link.token is not None

    with pytest.raises(TokenRefused):
        game.auth.login(link.token)

    assert game.analytics.counts().players == 0


def test_a_token_logs_in_only_once(game: Game) -> None:
    name = unique_name()
    link = game.auth.login_link()
    assert link.token is not None
    game.lastfm.authorise(link.token, name)
    login = game.auth.login(link.token)
    before = game.snapshot(login)

    with pytest.raises(TokenRefused):
        game.auth.login(link.token)

    assert game.snapshot(login) == before


def test_check_names_the_player_behind_a_session_key(game: Game) -> None:
    login = game.login()

    assert game.auth.check(login.session_key) == login.player


@pytest.mark.parametrize(
    "key",
    ["", "not-a-session-key", "x" * 300, secrets.token_urlsafe(32)],
    ids=["empty", "made-up", "too-long", "well-formed-but-unknown"],
)
def test_check_refuses_a_key_that_opens_no_session(game: Game, key: str) -> None:
    game.login()

    with pytest.raises(NotAuthenticated) as refused:
        game.auth.check(key)

    assert isinstance(refused.value, AuthenticationError)


def test_check_refuses_the_hash_of_a_key_in_place_of_the_key(game: Game) -> None:
    login = game.login()

    with pytest.raises(NotAuthenticated):
        game.auth.check(hash_session_key(login.session_key))
