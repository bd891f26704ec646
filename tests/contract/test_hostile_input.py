"""Hostile input at the boundary, on every backend (issue 15, part 1).

Every public service method checks its arguments before any work: a bad one is
``InvalidInput`` naming the argument (a ``DataError``), a malformed session key is
``NotAuthenticated``, the same on memory and on Postgres; never a ``TypeError``,
``UnicodeEncodeError`` or a driver's ``ValueError``. Text the database or a hash
cannot carry (a NUL, a lone surrogate) is refused like any other bad text. A given
value is never taken for the default because it is falsy. A refused call writes
nothing, and a normal trade succeeds after it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pytest
from harness import Game

from datm.domain.errors import (
    AuthenticationError,
    DataError,
    DatmError,
    InvalidInput,
    NotAuthenticated,
    QuoteInvalid,
)
from datm.services.results import LoginResult

SURROGATE = "\ud800"
NUL = "\x00"


@dataclass
class Ready:
    """A player holding one artist, with a valid buy quote for another and a valid
    sell quote for the one held: every argument but the one under test is good."""

    who: LoginResult
    held: str
    other: str
    buy_token: str
    sell_token: str


Call = Callable[[Game, Ready, object], object]


def _ready(game: Game) -> Ready:
    who = game.login()
    held, other = (a.mbid for a in game.cheapest(2))
    game.buy(who, held)
    buy_token = game.trading.quote(who.session_key, other, "buy").token
    sell_token = game.trading.quote(who.session_key, held, "sell").token
    return Ready(who, held, other, buy_token, sell_token)


# --- session keys: NotAuthenticated -------------------------------------------------

BAD_KEYS = {
    "surrogate": SURROGATE,
    "surrogate-in-key": "abc" + SURROGATE + "def",
    "nul": "abc" + NUL,
    "non-ascii": "ключ",
    "none": None,
    "int": 12345,
    "list": ["key"],
    "bytes": b"key",
}

KEYED: dict[str, tuple[Call, bool]] = {  # the call, and whether it would write
    "check": (lambda g, r, key: g.auth.check(key), False),  # type: ignore[arg-type]
    "quote": (lambda g, r, key: g.trading.quote(key, r.other, "buy"), False),  # type: ignore[arg-type]
    "buy": (lambda g, r, key: g.trading.buy(key, r.buy_token), True),  # type: ignore[arg-type]
    "sell": (lambda g, r, key: g.trading.sell(key, r.sell_token), True),  # type: ignore[arg-type]
    "money": (lambda g, r, key: g.players.money(key), False),  # type: ignore[arg-type]
    "reset": (lambda g, r, key: g.players.reset(key), True),  # type: ignore[arg-type]
    "delete": (lambda g, r, key: g.players.delete(key), True),  # type: ignore[arg-type]
    "recommendations": (lambda g, r, key: g.market.recommendations(key), False),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("key", list(BAD_KEYS.values()), ids=list(BAD_KEYS))
@pytest.mark.parametrize("method", list(KEYED))
def test_a_malformed_session_key_is_not_authenticated_and_writes_nothing(
    game: Game, method: str, key: object
) -> None:
    ready = _ready(game)
    call, _ = KEYED[method]
    before = game.snapshot(ready.who)

    with pytest.raises(NotAuthenticated) as refused:
        call(game, ready, key)

    assert isinstance(refused.value, AuthenticationError)
    assert game.snapshot(ready.who) == before
    game.buy(ready.who, ready.other)  # the game goes on


# --- every other argument: InvalidInput naming it -----------------------------------

TEXT_BAD = {
    "surrogate": SURROGATE,
    "surrogate-inside": "a" + SURROGATE + "b",
    "nul": NUL,
    "nul-inside": "a" + NUL + "b",
    "empty": "",
    "blank": "   ",
    "too-long": "x" * 5000,
    "list": ["x"],
    "int": 7,
    "bytes": b"x",
}
OPTIONAL_TEXT_BAD = TEXT_BAD  # None means the default there
REQUIRED_TEXT_BAD = {**TEXT_BAD, "none": None}

COUNT_BAD = {
    "zero": 0,
    "negative": -1,
    "true": True,
    "false": False,
    "float": 1.5,
    "text": "3",
    "none": None,
    "huge": 10**9,
}
OPTIONAL_COUNT_BAD = {k: v for k, v in COUNT_BAD.items() if v is not None}

LEAGUE_DAYS_BAD = {
    "none": None,
    "negative": -1,
    "true": True,
    "false": False,
    "float": 7.0,
    "text": "7",
    "list": [7],
}

SECONDS_BAD = {
    "text": "1",
    "true": True,
    "negative": -1,
    "nan": math.nan,
    "inf": math.inf,
    "list": [1],
    "huge": 10**9,
}

CLOSE_DAY_BAD = {
    "zero": 0,
    "empty": "",
    "false": False,
    "zero-float": 0.0,
    "iso-text": "2026-11-02",
    "datetime": datetime(2026, 11, 2, 9),
    "list": [],
}

# (method, argument, the call with the argument under test, bad values, writes)
CASES: list[tuple[str, str, Call, dict[str, object], bool]] = [
    ("login", "token", lambda g, r, v: g.auth.login(v), REQUIRED_TEXT_BAD, True),  # type: ignore[arg-type]
    (
        "login_link",
        "callback",
        lambda g, r, v: g.auth.login_link(v),  # type: ignore[arg-type]
        OPTIONAL_TEXT_BAD,
        False,
    ),
    (
        "quote",
        "artist",
        lambda g, r, v: g.trading.quote(r.who.session_key, v, "buy"),  # type: ignore[arg-type]
        REQUIRED_TEXT_BAD,
        True,
    ),
    (
        "quote",
        "side",
        lambda g, r, v: g.trading.quote(r.who.session_key, r.other, v),  # type: ignore[arg-type]
        REQUIRED_TEXT_BAD,
        True,
    ),
    ("profile", "name", lambda g, r, v: g.players.profile(v), REQUIRED_TEXT_BAD, False),  # type: ignore[arg-type]
    (
        "profile",
        "with_images",
        lambda g, r, v: g.players.profile(r.who.player, v),  # type: ignore[arg-type]
        {"int": 1, "zero": 0, "text": "yes", "none": None},
        False,
    ),
    ("top", "league", lambda g, r, v: g.leagues.top(v), REQUIRED_TEXT_BAD, False),  # type: ignore[arg-type]
    ("top", "limit", lambda g, r, v: g.leagues.top("bronze", v), COUNT_BAD, False),  # type: ignore[arg-type]
    ("top", "days", lambda g, r, v: g.leagues.top("bronze", 10, v), LEAGUE_DAYS_BAD, False),  # type: ignore[arg-type]
    ("near", "player", lambda g, r, v: g.leagues.near(v), REQUIRED_TEXT_BAD, False),  # type: ignore[arg-type]
    (
        "near",
        "days",
        lambda g, r, v: g.leagues.near(r.who.player, v),  # type: ignore[arg-type]
        LEAGUE_DAYS_BAD,
        False,
    ),
    ("position", "player", lambda g, r, v: g.leagues.position(v), REQUIRED_TEXT_BAD, False),  # type: ignore[arg-type]
    (
        "position",
        "days",
        lambda g, r, v: g.leagues.position(r.who.player, v),  # type: ignore[arg-type]
        LEAGUE_DAYS_BAD,
        False,
    ),
    (
        "market_data",
        "artist",
        lambda g, r, v: g.market.market_data(v),  # type: ignore[arg-type]
        REQUIRED_TEXT_BAD,
        True,
    ),
    (
        "market_data",
        "player",
        lambda g, r, v: g.market.market_data(r.held, player=v),  # type: ignore[arg-type]
        OPTIONAL_TEXT_BAD,
        False,
    ),
    ("history", "artist", lambda g, r, v: g.market.history(v, 7), REQUIRED_TEXT_BAD, False),  # type: ignore[arg-type]
    ("history", "days", lambda g, r, v: g.market.history(r.held, v), COUNT_BAD, False),  # type: ignore[arg-type]
    ("top_by_price", "limit", lambda g, r, v: g.market.top_by_price(v), COUNT_BAD, False),  # type: ignore[arg-type]
    ("top_by_gain", "limit", lambda g, r, v: g.market.top_by_gain(v), COUNT_BAD, False),  # type: ignore[arg-type]
    ("top_by_gain", "days", lambda g, r, v: g.market.top_by_gain(10, v), COUNT_BAD, False),  # type: ignore[arg-type]
    ("market chart", "limit", lambda g, r, v: g.market.chart(v), COUNT_BAD, True),  # type: ignore[arg-type]
    ("market chart", "page", lambda g, r, v: g.market.chart(10, v), COUNT_BAD, True),  # type: ignore[arg-type]
    ("most_traded", "limit", lambda g, r, v: g.market.most_traded(v), COUNT_BAD, False),  # type: ignore[arg-type]
    (
        "most_traded",
        "days",
        lambda g, r, v: g.market.most_traded(10, v),  # type: ignore[arg-type]
        OPTIONAL_COUNT_BAD,
        False,
    ),
    ("recent_trades", "limit", lambda g, r, v: g.market.recent_trades(v), COUNT_BAD, False),  # type: ignore[arg-type]
    (
        "recommendations",
        "limit",
        lambda g, r, v: g.market.recommendations(r.who.session_key, v),  # type: ignore[arg-type]
        COUNT_BAD,
        False,
    ),
    ("basic", "artist", lambda g, r, v: g.artists.basic(v), REQUIRED_TEXT_BAD, False),  # type: ignore[arg-type]
    ("light", "artist", lambda g, r, v: g.artists.light(v), REQUIRED_TEXT_BAD, False),  # type: ignore[arg-type]
    ("lastfm_data", "artist", lambda g, r, v: g.artists.lastfm_data(v), REQUIRED_TEXT_BAD, False),  # type: ignore[arg-type]
    ("similar", "artist", lambda g, r, v: g.artists.similar(v), REQUIRED_TEXT_BAD, False),  # type: ignore[arg-type]
    ("similar", "limit", lambda g, r, v: g.artists.similar(r.held, v), COUNT_BAD, False),  # type: ignore[arg-type]
    ("search", "query", lambda g, r, v: g.artists.search(v), REQUIRED_TEXT_BAD, False),  # type: ignore[arg-type]
    ("search", "limit", lambda g, r, v: g.artists.search("nirv", v), COUNT_BAD, False),  # type: ignore[arg-type]
    ("search", "page", lambda g, r, v: g.artists.search("nirv", 10, v), COUNT_BAD, False),  # type: ignore[arg-type]
    ("artist chart", "limit", lambda g, r, v: g.artists.chart(v), COUNT_BAD, False),  # type: ignore[arg-type]
    ("artist chart", "page", lambda g, r, v: g.artists.chart(10, v), COUNT_BAD, False),  # type: ignore[arg-type]
    (
        "country_chart",
        "country",
        lambda g, r, v: g.artists.country_chart(v),  # type: ignore[arg-type]
        REQUIRED_TEXT_BAD,
        False,
    ),
    ("tag_chart", "tag", lambda g, r, v: g.artists.tag_chart(v), REQUIRED_TEXT_BAD, False),  # type: ignore[arg-type]
    ("user_profile", "user", lambda g, r, v: g.artists.user_profile(v), REQUIRED_TEXT_BAD, False),  # type: ignore[arg-type]
    ("counts", "days", lambda g, r, v: g.analytics.counts(v), COUNT_BAD, False),  # type: ignore[arg-type]
    (
        "artists",
        "batch_size",
        lambda g, r, v: next(g.analytics.artists(v)),  # type: ignore[arg-type]
        COUNT_BAD,
        False,
    ),
    (
        "hold_market_lock",
        "timeout",
        lambda g, r, v: g.analytics.hold_market_lock(v),  # type: ignore[arg-type]
        SECONDS_BAD,
        True,
    ),
    (
        "acquire_market_lock",
        "timeout",
        lambda g, r, v: g.analytics.acquire_market_lock(v),  # type: ignore[arg-type]
        SECONDS_BAD,
        True,
    ),
    ("close", "day", lambda g, r, v: g.close.run(day=v), CLOSE_DAY_BAD, True),  # type: ignore[arg-type]
    (
        "close",
        "progress",
        lambda g, r, v: g.close.run(progress=v),  # type: ignore[arg-type]
        {"int": 5, "text": "print"},
        True,
    ),
    (
        "close",
        "on_step",
        lambda g, r, v: g.close.run(on_step=v),  # type: ignore[arg-type]
        {"int": 0, "text": "log", "false": False},
        True,
    ),
]


def _params() -> list[object]:
    return [
        pytest.param(call, field, value, writes, id=f"{method}-{field}-{name}")
        for method, field, call, bad, writes in CASES
        for name, value in bad.items()
    ]


@pytest.mark.parametrize(("call", "field", "value", "writes"), _params())
def test_a_bad_argument_is_invalid_input_naming_it(
    game: Game, call: Call, field: str, value: object, writes: bool
) -> None:
    ready = _ready(game)
    before = game.snapshot(ready.who) if writes else None

    with pytest.raises(DatmError) as refused:
        call(game, ready, value)

    assert type(refused.value) is InvalidInput, refused.value
    assert isinstance(refused.value, DataError)
    assert refused.value.fields["field"] == field
    if writes:
        assert game.analytics.is_market_open()
        assert game.snapshot(ready.who) == before
        game.buy(ready.who, ready.other)  # the game goes on


# --- a signed quote that is no quote at all -----------------------------------------


@pytest.mark.parametrize(
    "token",
    [SURROGATE, "a." + SURROGATE, NUL, "a.b" + NUL, "", None, 12, ["a.b"], b"a.b"],
    ids=["surrogate", "surrogate-after-dot", "nul", "nul-inside", "empty", "none", "int",
         "list", "bytes"],
)  # fmt: skip
@pytest.mark.parametrize("side", ["buy", "sell"])
def test_a_malformed_quote_is_invalid_and_writes_nothing(
    game: Game, side: str, token: object
) -> None:
    ready = _ready(game)
    execute = game.trading.buy if side == "buy" else game.trading.sell
    before = game.snapshot(ready.who)

    with pytest.raises(QuoteInvalid):
        execute(ready.who.session_key, token)  # type: ignore[arg-type]

    assert game.snapshot(ready.who) == before
    game.buy(ready.who, ready.other)


# --- the same answer on every backend for a name that is well formed ----------------


@pytest.mark.parametrize(
    "name", ["nobody-" + "é" * 10, "x" * 64, "名前"], ids=["accented", "longest", "kanji"]
)
def test_a_well_formed_name_nobody_has_gets_the_same_answer_on_every_backend(
    game: Game, name: str
) -> None:
    """Unknown, as a player or a league: the checks refuse only what cannot be carried."""
    ready = _ready(game)
    calls: list[Callable[[], object]] = [
        lambda: game.players.profile(name),
        lambda: game.leagues.near(name),
        lambda: game.leagues.position(name),
    ]
    for call in calls:
        with pytest.raises(DataError) as refused:
            call()
        assert refused.value.code == "unknown_player", refused.value
    with pytest.raises(DataError) as refused:
        game.leagues.top(name)
    assert refused.value.code == "unknown_league", refused.value
    # Market data for a player nobody has is the market as seen by a non-holder.
    assert not game.market.market_data(ready.held, player=name).held
    assert game.market.market_data(ready.held, player=ready.who.player).held


# --- a falsy close day is not today -------------------------------------------------


@pytest.mark.parametrize("day", [0, "", False, 0.0], ids=["zero", "empty", "false", "zero-float"])
def test_a_falsy_close_day_is_refused_and_today_is_not_closed(game: Game, day: object) -> None:
    _ready(game)

    with pytest.raises(InvalidInput) as refused:
        game.close.run(day=day)  # type: ignore[arg-type]

    assert refused.value.fields["field"] == "day"
    assert not game.close.run().already_closed  # today's close was still to run
