"""Security on every backend (issue 15, part 5): quotes forged, altered, expired,
replayed or used by another player are refused and write nothing; a player's
session acts for that player only; session keys are stored as hashes only.

Each altered quote is also shown to be a trade the game would otherwise make:
the same document signed with the game's own secret goes through. So the only
thing refusing the altered one is its signature, and the test fails if the
signature ever stops being checked.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import expected
import pytest
from harness import Game

from datm.adapters.memory.store import InMemoryStore
from datm.domain.errors import (
    DatmError,
    NotAuthenticated,
    QuoteExpired,
    QuoteInvalid,
)
from datm.ports.secrets import QuoteSecret
from datm.services.results import LoginResult
from datm.services.sessions import SessionChecker

VALIDITY = timedelta(seconds=expected.QUOTE_VALIDITY_SECONDS)


# --- quotes taken apart and put together -------------------------------------------


def document(token: str) -> dict[str, Any]:
    payload = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def encode(doc: dict[str, Any]) -> str:
    raw = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def altered(token: str, **changes: Any) -> str:
    """The quote with its document changed and its original signature kept."""
    return f"{encode({**document(token), **changes})}.{token.split('.')[1]}"


def resigned(game: Game, token: str, **changes: Any) -> str:
    """The quote with its document changed, signed with the game's own secret."""
    payload = encode({**document(token), **changes})
    secret = game.get(QuoteSecret).get()  # type: ignore[type-abstract]
    mac = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()
    return f"{payload}.{mac}"


def milliseconds(game: Game, delta: timedelta) -> int:
    return int((game.clock.now() + delta).timestamp() * 1000)


# --- altered: each field of the document -------------------------------------------


@dataclasses.dataclass
class Attack:
    """A refused token, the same change signed properly, and how to execute both."""

    who: LoginResult
    token: str
    honest: str
    side: str
    watched: tuple[LoginResult, ...]


def _attack(game: Game, field: str) -> Attack:
    owner, other = game.login(), game.login()
    cheap, dear = game.cheapest(2)
    game.market.market_data(dear.mbid)  # listed, as a client would find it
    if field == "price":  # buy at 1 instead of the quoted price
        quote = game.trading.quote(owner.session_key, dear.mbid, "buy")
        changes: dict[str, Any] = {"c": 1}
        who, side = owner, "buy"
    elif field == "side":  # a buy quote (the higher price) turned into a sale
        first = game.trading.quote(owner.session_key, cheap.mbid, "buy")
        quote = game.trading.quote(owner.session_key, cheap.mbid, "buy")
        game.trading.buy(owner.session_key, first.token)
        changes = {"s": "sell"}
        who, side = owner, "sell"
    elif field == "player":  # the owner's quote made out to another player
        quote = game.trading.quote(owner.session_key, cheap.mbid, "buy")
        changes = {"p": other.player}
        who, side = other, "buy"
    elif field == "artist":  # the cheap artist's quote used for the dear one
        quote = game.trading.quote(owner.session_key, cheap.mbid, "buy")
        changes = {"m": dear.mbid}
        who, side = owner, "buy"
    elif field == "expiry":  # an expired quote given a new lease
        quote = game.trading.quote(owner.session_key, cheap.mbid, "buy")
        game.clock.advance(VALIDITY + timedelta(seconds=5))
        changes = {"e": milliseconds(game, VALIDITY)}
        who, side = owner, "buy"
    elif field == "id":  # a used quote given a new id, to be used again
        quote = game.trading.quote(owner.session_key, cheap.mbid, "buy")
        game.trading.buy(owner.session_key, quote.token)
        game.sell(owner, cheap.mbid)
        changes = {"i": "0" * 32}
        who, side = owner, "buy"
    else:  # pragma: no cover - the parametrisation names every field
        raise AssertionError(field)
    return Attack(
        who,
        altered(quote.token, **changes),
        resigned(game, quote.token, **changes),
        side,
        (owner, other),
    )


FIELDS = ["price", "side", "player", "artist", "expiry", "id"]


@pytest.mark.parametrize("field", FIELDS)
def test_a_quote_with_an_altered_field_is_invalid_and_only_its_signature_stops_it(
    game: Game, field: str
) -> None:
    attack = _attack(game, field)
    execute = getattr(game.trading, attack.side)
    before = game.snapshot(*attack.watched)

    with pytest.raises(QuoteInvalid):
        execute(attack.who.session_key, attack.token)

    assert game.snapshot(*attack.watched) == before
    # The same change, properly signed, is a trade the game makes: the signature
    # alone refused the altered quote.
    execute(attack.who.session_key, attack.honest)
    assert game.snapshot(*attack.watched) != before


def test_a_payload_under_another_quotes_signature_is_invalid(game: Game) -> None:
    who = game.login()
    cheap, dear = game.cheapest(2)
    mine = game.trading.quote(who.session_key, cheap.mbid, "buy")
    wanted = game.trading.quote(who.session_key, dear.mbid, "buy")
    spliced = f"{wanted.token.split('.')[0]}.{mine.token.split('.')[1]}"
    before = game.snapshot(who)

    with pytest.raises(QuoteInvalid):
        game.trading.buy(who.session_key, spliced)

    assert game.snapshot(who) == before


def _forgeries(game: Game, who: LoginResult, mbid: str) -> Iterator[tuple[str, str]]:
    """Quotes a client could make up without the secret."""
    doc = {
        "i": "f" * 32,
        "p": who.player,
        "m": mbid,
        "s": "buy",
        "c": 1,
        "e": milliseconds(game, VALIDITY),
    }
    payload = encode(doc)
    yield "sha256 of the payload", f"{payload}.{hashlib.sha256(payload.encode()).hexdigest()}"
    empty_key = hmac.new(b"", payload.encode(), hashlib.sha256).hexdigest()
    yield "HMAC with an empty key", f"{payload}.{empty_key}"
    yield "all zeros", f"{payload}.{'0' * 64}"
    yield "no signature", f"{payload}."
    yield "signature twice", f"{payload}.{'0' * 64}.{'0' * 64}"


def test_forged_quotes_are_invalid(game: Game) -> None:
    who = game.login()
    artist = game.cheapest(1)[0]
    game.trading.quote(who.session_key, artist.mbid, "buy")  # lists it
    before = game.snapshot(who)

    for name, forged in _forgeries(game, who, artist.mbid):
        with pytest.raises(QuoteInvalid):
            game.trading.buy(who.session_key, forged)
        assert game.snapshot(who) == before, name


# --- expired and replayed ----------------------------------------------------------


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_an_expired_quote_is_refused_on_either_side(game: Game, side: str) -> None:
    who = game.login()
    artist = game.cheapest(1)[0]
    if side == "sell":
        game.buy(who, artist.mbid)
    quote = game.trading.quote(who.session_key, artist.mbid, side)
    game.clock.advance(VALIDITY)
    before = game.snapshot(who)

    with pytest.raises(QuoteExpired):
        getattr(game.trading, side)(who.session_key, quote.token)

    assert game.snapshot(who) == before


def test_a_used_quote_replayed_later_is_refused_every_time(game: Game) -> None:
    who = game.login()
    artist = game.cheapest(1)[0]
    quote = game.trading.quote(who.session_key, artist.mbid, "buy")
    game.trading.buy(who.session_key, quote.token)
    game.sell(who, artist.mbid)
    before = game.snapshot(who)

    for _ in range(3):
        with pytest.raises(QuoteInvalid):
            game.trading.buy(who.session_key, quote.token)
    game.clock.advance(VALIDITY)  # expired as well as used
    with pytest.raises(QuoteExpired):
        game.trading.buy(who.session_key, quote.token)

    assert game.snapshot(who) == before


def test_a_used_quote_replayed_by_another_player_is_invalid(game: Game) -> None:
    owner, thief = game.login(), game.login()
    artist = game.cheapest(1)[0]
    quote = game.trading.quote(owner.session_key, artist.mbid, "buy")
    game.trading.buy(owner.session_key, quote.token)
    before = game.snapshot(owner, thief)

    with pytest.raises(QuoteInvalid):
        game.trading.buy(thief.session_key, quote.token)

    assert game.snapshot(owner, thief) == before


# --- one player never acts for another ---------------------------------------------


def test_another_players_sell_quote_is_invalid_for_a_holder_of_the_same_artist(
    game: Game,
) -> None:
    owner, thief = game.login(), game.login()
    artist = game.affordable()[0]  # the chart's top: its max shares grow fastest
    game.login_until(
        expected.players_for_shares(2, game.numbers(artist.mbid)[0], game.top_listeners())
    )
    game.buy(owner, artist.mbid)
    game.buy(thief, artist.mbid)
    quote = game.trading.quote(owner.session_key, artist.mbid, "sell")
    before = game.snapshot(owner, thief)

    with pytest.raises(QuoteInvalid):
        game.trading.sell(thief.session_key, quote.token)

    assert game.snapshot(owner, thief) == before
    game.trading.sell(owner.session_key, quote.token)  # still the owner's to use


def _own(game: Game, who: LoginResult) -> tuple[object, ...]:
    """What belongs to one player alone."""
    return (
        game.players.money(who.session_key),
        game.players.profile(who.player),
        tuple(game.ledger(who.player)),
        game.auth.check(who.session_key),
    )


def _two_players(game: Game) -> tuple[LoginResult, LoginResult, str, str]:
    mine, theirs = game.cheapest(2)
    me, other = game.login(), game.login()
    game.buy(me, mine.mbid)
    game.buy(other, theirs.mbid)
    return me, other, mine.mbid, theirs.mbid


def test_money_with_a_session_is_that_players_money(game: Game) -> None:
    me, other, _, _ = _two_players(game)

    assert game.players.money(me.session_key) != game.players.money(other.session_key)
    assert game.auth.check(me.session_key) == me.player
    assert game.auth.check(other.session_key) == other.player


def test_reset_with_a_session_resets_that_player_only(game: Game) -> None:
    me, other, mine, theirs = _two_players(game)
    theirs_before = _own(game, other)

    result = game.players.reset(me.session_key)

    assert result.player == me.player
    assert [r.mbid for r in result.sold] == [mine]
    assert _own(game, other) == theirs_before
    assert [h.market.mbid for h in game.players.profile(other.player).holdings] == [theirs]


def test_delete_with_a_session_deletes_that_player_only(game: Game) -> None:
    me, other, _, theirs = _two_players(game)
    theirs_before = _own(game, other)

    game.players.delete(me.session_key)

    assert _own(game, other) == theirs_before
    assert [h.market.mbid for h in game.players.profile(other.player).holdings] == [theirs]
    with pytest.raises(NotAuthenticated):
        game.players.money(me.session_key)


# --- session keys are stored as hashes only ----------------------------------------


def _strings(value: object, seen: set[int]) -> Iterator[str]:
    """Every string reachable from ``value`` through containers and attributes."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes | bytearray | memoryview):
        yield bytes(value).decode("latin-1")
    elif isinstance(value, dict):
        for key, item in list(value.items()):
            yield from _strings(key, seen)
            yield from _strings(item, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in list(value):
            yield from _strings(item, seen)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _strings(getattr(value, field.name), seen)
    elif hasattr(value, "__dict__") and type(value).__module__.startswith(("datm", "cachetools")):
        yield from _strings(vars(value), seen)


def _stored_text(game: Game, backend: str) -> list[str]:
    """Everything the game's store holds, as text."""
    if backend == "memory":
        return list(_strings(game.get(InMemoryStore), set()))
    from sqlalchemy import Engine, text

    from datm.adapters.postgres.tables import metadata

    with game.get(Engine).connect() as connection:
        rows: list[str] = []
        for table in metadata.sorted_tables:
            found = connection.execute(text(f'SELECT t::text FROM "{table.name}" t'))
            rows += [row[0] for row in found]
        return rows


def test_no_store_and_no_session_cache_holds_a_raw_session_key(game: Game, backend: str) -> None:
    logins = [game.login() for _ in range(3)]
    for who, artist in zip(logins, game.cheapest(3), strict=True):  # every path that reads one
        game.buy(who, artist.mbid)
        game.players.money(who.session_key)
        game.auth.check(who.session_key)
    stored = _stored_text(game, backend)
    cached = list(_strings(game.get(SessionChecker), set()))
    digests = {hashlib.sha256(w.session_key.encode()).hexdigest() for w in logins}

    assert sum(any(d in s for s in stored) for d in digests) == len(logins)  # not vacuous
    assert any(d in s for s in cached for d in digests)
    for who in logins:
        assert not [s for s in stored if who.session_key in s]
        assert not [s for s in cached if who.session_key in s]


# --- signatures are compared in constant time ---------------------------------------


def test_a_trade_checks_the_quote_signature_with_compare_digest(
    game: Game, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = game.login()
    artist = game.cheapest(1)[0]
    good = game.trading.quote(who.session_key, artist.mbid, "buy")
    bad = altered(good.token, c=1)
    calls: list[tuple[object, object]] = []
    real = hmac.compare_digest

    def recording(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    monkeypatch.setattr(secrets, "compare_digest", recording)
    with pytest.raises(QuoteInvalid):
        game.trading.buy(who.session_key, bad)
    assert [b for _, b in calls] == [bad.split(".")[1]]
    game.trading.buy(who.session_key, good.token)
    assert [b for _, b in calls[1:]] == [good.token.split(".")[1]]


def test_a_quote_refusal_never_names_the_expected_signature(game: Game) -> None:
    who = game.login()
    artist = game.cheapest(1)[0]
    good = game.trading.quote(who.session_key, artist.mbid, "buy")
    bad = altered(good.token, c=1)
    expected_mac = resigned(game, bad).split(".")[1]

    with pytest.raises(DatmError) as refused:
        game.trading.buy(who.session_key, bad)

    shown = f"{refused.value} {refused.value!r} {refused.value.args!r}"
    assert expected_mac not in shown
    assert good.token.split(".")[1] not in shown
    secret = game.get(QuoteSecret).get()  # type: ignore[type-abstract]
    assert secret.hex() not in shown and secret.decode("latin-1") not in shown
