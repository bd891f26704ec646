"""What every service returns is plain frozen data: frozen dataclasses, tuples and
lists of them, and scalars; never an entity, a row or a live reference."""

from __future__ import annotations

import dataclasses
import enum
from datetime import date, datetime
from typing import Any

from harness import Game

SCALARS = (str, int, float, bool, date, datetime, type(None))


def plain_frozen(value: Any, path: str = "result") -> list[str]:
    """Where ``value`` holds something other than frozen data (empty if nowhere)."""
    if isinstance(value, SCALARS) and not isinstance(value, enum.Enum):
        return []
    if isinstance(value, tuple | list):
        return [p for i, item in enumerate(value) for p in plain_frozen(item, f"{path}[{i}]")]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if not type(value).__dataclass_params__.frozen:  # type: ignore[attr-defined]
            return [f"{path}: {type(value).__name__} is not frozen"]
        return [
            p
            for field in dataclasses.fields(value)
            for p in plain_frozen(getattr(value, field.name), f"{path}.{field.name}")
        ]
    return [f"{path}: {type(value).__module__}.{type(value).__name__}"]


def test_every_service_result_is_plain_frozen_data(game: Game) -> None:
    alice, bob = game.login(), game.login()
    first, second = game.cheapest(2)
    quote = game.trading.quote(alice.session_key, first.mbid, "buy")
    results: dict[str, Any] = {
        "login_link": game.auth.login_link(),
        "login": alice,
        "quote": quote,
        "buy": game.trading.buy(alice.session_key, quote.token),
        "sell": game.sell(alice, first.mbid),
        "bob_buys": game.buy(bob, second.mbid),
    }
    game.next_day()
    results |= {
        "close": game.close.run(),
        "basic": game.artists.basic(first.mbid),
        "light": game.artists.light(first.mbid),
        "lastfm_data": game.artists.lastfm_data(first.mbid),
        "search": game.artists.search("a", 5, 1),
        "similar": game.artists.similar(first.mbid, 3),
        "artist_chart": game.artists.chart(5, 1),
        "country_chart": game.artists.country_chart("France", 3, 1),
        "tag_chart": game.artists.tag_chart("rock", 3, 1),
        "user_profile": game.artists.user_profile(alice.player),
        "market_data": game.market.market_data(second.mbid, bob.player),
        "history": game.market.history(second.mbid, 7),
        "top_by_price": game.market.top_by_price(5),
        "top_by_gain": game.market.top_by_gain(5, 7),
        "market_chart": game.market.chart(3, 1),
        "most_traded": game.market.most_traded(5),
        "recent_trades": game.market.recent_trades(5),
        "recommendations": game.market.recommendations(alice.session_key, 3),
        "profile": game.players.profile(bob.player),
        "leagues": game.leagues.leagues(),
        "top": game.leagues.top("bronze", 5, 0),
        "near": game.leagues.near(bob.player, 7),
        "position": game.leagues.position(bob.player, 1),
        "batches": list(game.analytics.artists(2)),
        "counts": game.analytics.counts(7),
        "audit": game.audit.audit(),
        "reset": game.players.reset(bob.session_key),
    }

    problems = [p for name, value in results.items() for p in plain_frozen(value, name)]

    assert problems == []
    assert all(results.values()), [name for name, value in results.items() if not value]
