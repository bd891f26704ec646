"""Buy and sell across a Player and an Artist: effects, refusals and invariants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datm.domain import pricing
from datm.domain.artist import Artist
from datm.domain.errors import (
    AlreadyHeld,
    DataError,
    NoneRemaining,
    NotEnoughMoney,
    NotHeld,
    QuoteInvalid,
)
from datm.domain.player import STARTING_MONEY, Holding, LedgerEntry, LedgerKind, Player
from datm.domain.quotes import Quote, Side
from datm.domain.trading import Trade, buy, quote_price, release, sell

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
LISTED = date(2024, 5, 1)
MBIDS = (
    "a74b1b7f-71a5-4011-9441-d0b5e4122711",
    "b10bbbfc-cf9e-42e0-be17-e2c3e1d2600d",
    "cc197bad-dc9c-440d-a5b5-d52ba2e14234",
)
MBID, OTHER_MBID = MBIDS[0], MBIDS[1]


def make_artist(
    price: int = 1_000,
    max_shares: int = 10,
    holders: int = 0,
    lcp: int = 1_000,
    mbid: str = MBID,
) -> Artist:
    return Artist(
        mbid=mbid,
        name="Radiohead",
        price=price,
        max_shares=max_shares,
        last_close_price=lcp,
        last_listeners=1_000,
        last_playcount=100_000,
        listed_on=LISTED,
        holders=holders,
    )


def make_player(name: str = "alice", money: int = STARTING_MONEY) -> Player:
    return Player(name, created_at=NOW, money=money)


def hold(player: Player, artist: Artist, paid: int = 1_000) -> None:
    """Give ``player`` a right to ``artist`` as an earlier buy would have."""
    player.holdings[artist.mbid] = Holding(artist.mbid, paid, NOW)
    artist.holders += 1


def quote(
    player: Player | str,
    artist: Artist | str,
    side: Side,
    price: int,
    quote_id: str = "q1",
) -> Quote:
    name = player if isinstance(player, str) else player.name
    mbid = artist if isinstance(artist, str) else artist.mbid
    return Quote(quote_id, name, mbid, side, price, NOW + timedelta(seconds=15))


def snapshot(player: Player, artist: Artist) -> tuple[Any, ...]:
    return (
        player.money,
        dict(player.holdings),
        artist.price,
        artist.holders,
        artist.max_shares,
        artist.last_close_price,
    )


# --- buy: worked examples ------------------------------------------------------


def test_buy_takes_the_quoted_price_adds_the_holding_and_moves_the_price() -> None:
    player, artist = make_player(), make_artist(price=1_000, max_shares=10, lcp=1_000)
    outcome = buy(player, artist, quote(player, artist, Side.BUY, 1_000), NOW)
    assert player.money == 19_000  # 20000 - 1000
    assert player.holdings[MBID] == Holding(MBID, 1_000, NOW)
    assert artist.holders == 1
    assert artist.remaining == 9
    # R=10, M=10: trunc(1000*0.01*(10 - 9*10/10)/10) = trunc(10*1/10) = 1
    assert artist.price == 1_001
    assert outcome.trade == Trade("alice", MBID, Side.BUY, 1_000, NOW, "q1")
    assert outcome.ledger == LedgerEntry("alice", -1_000, LedgerKind.BUY, NOW, MBID)


def test_buying_the_last_right_moves_the_price_most() -> None:
    player, artist = make_player(), make_artist(price=1_000, max_shares=10, holders=9)
    buy(player, artist, quote(player, artist, Side.BUY, 1_000), NOW)
    # R=1, M=10: trunc(10*(10 - 0.9)/10) = trunc(9.1) = 9
    assert artist.price == 1_009
    assert artist.remaining == 0


def test_buy_trades_at_the_quoted_price_even_if_the_price_moved() -> None:
    player, artist = make_player(), make_artist(price=1_000)
    outcome = buy(player, artist, quote(player, artist, Side.BUY, 900), NOW)
    assert player.money == 19_100  # 20000 - 900, not - 1000
    assert outcome.trade.price == 900
    assert player.holdings[MBID].price_paid == 900
    assert artist.price == 1_001  # the move starts from the current price, 1000 + 1


def test_buy_with_exactly_enough_money_leaves_zero() -> None:
    player, artist = make_player(money=1_000), make_artist()
    buy(player, artist, quote(player, artist, Side.BUY, 1_000), NOW)
    assert player.money == 0


# --- sell: worked examples -----------------------------------------------------


def test_sell_pays_the_quoted_price_removes_the_holding_and_lowers_the_price() -> None:
    player, artist = make_player(money=5_000), make_artist(price=1_000, holders=9)
    hold(player, artist)  # holders 10 of 10, R = 0
    outcome = sell(player, artist, quote(player, artist, Side.SELL, 980), NOW)
    assert player.money == 5_980  # 5000 + round(1000*0.98)
    assert MBID not in player.holdings
    assert artist.holders == 9
    # R=0, M=10: trunc(10*(1 + 0)/10) = 1
    assert artist.price == 999
    assert outcome.trade == Trade("alice", MBID, Side.SELL, 980, NOW, "q1")
    assert outcome.ledger == LedgerEntry("alice", 980, LedgerKind.SELL, NOW, MBID)


def test_selling_with_many_rights_remaining_moves_the_price_most() -> None:
    player, artist = make_player(), make_artist(price=1_000, holders=0)
    hold(player, artist)  # holders 1 of 10, R = 9
    sell(player, artist, quote(player, artist, Side.SELL, 980), NOW)
    # trunc(10*(1 + 8.1)/10) = trunc(9.1) = 9
    assert artist.price == 991


def test_sell_never_takes_the_price_below_one() -> None:
    player, artist = make_player(), make_artist(price=5, lcp=1_000)
    hold(player, artist)  # R = 9: move 9; 5 - 9 = -4 -> 1
    sell(player, artist, quote(player, artist, Side.SELL, 5), NOW)
    assert artist.price == 1


def test_sell_without_the_holding_is_refused_and_changes_nothing() -> None:
    player, artist = make_player(), make_artist(holders=3)
    before = snapshot(player, artist)
    with pytest.raises(NotHeld):
        sell(player, artist, quote(player, artist, Side.SELL, 980), NOW)
    assert snapshot(player, artist) == before


@pytest.mark.parametrize(
    "bad_quote",
    [
        lambda p, a: quote(p, a, Side.BUY, 980),  # wrong side
        lambda p, a: quote("bob", a, Side.SELL, 980),  # another player's
        lambda p, a: quote(p, OTHER_MBID, Side.SELL, 980),  # another artist's
    ],
    ids=["wrong-side", "wrong-player", "wrong-artist"],
)
def test_sell_with_a_quote_for_something_else_is_refused_and_changes_nothing(
    bad_quote: Callable[[Player, Artist], Quote],
) -> None:
    player, artist = make_player(), make_artist()
    hold(player, artist)
    before = snapshot(player, artist)
    with pytest.raises(QuoteInvalid):
        sell(player, artist, bad_quote(player, artist), NOW)
    assert snapshot(player, artist) == before


def test_release_sells_at_the_current_sell_price_without_a_quote() -> None:
    player, artist = make_player(money=0), make_artist(price=125, lcp=1_000)
    hold(player, artist)
    outcome = release(player, artist, NOW)
    assert player.money == 122  # 125*0.98 = 122.5 -> half-even 122
    assert outcome.trade.price == 122
    assert outcome.trade.quote_id == ""
    assert artist.price == 116  # R=9: 125 - trunc(10*(1+8.1)/10) = 125 - 9
    assert MBID not in player.holdings


def test_release_of_an_artist_not_held_is_refused() -> None:
    player, artist = make_player(), make_artist()
    with pytest.raises(NotHeld):
        release(player, artist, NOW)


# --- quote_price -----------------------------------------------------------------


def test_a_buy_quote_is_the_current_price_and_a_sell_quote_the_sell_price() -> None:
    player, artist = make_player(), make_artist(price=75)
    assert quote_price(player, artist, Side.BUY) == 75
    hold(player, artist)
    assert quote_price(player, artist, Side.SELL) == 74  # 75*0.98 = 73.5 -> 74


def test_no_quote_is_given_for_a_trade_that_would_be_refused() -> None:
    player, artist = make_player(), make_artist(max_shares=1)
    with pytest.raises(NotHeld):
        quote_price(player, artist, Side.SELL)
    hold(player, artist)
    with pytest.raises(AlreadyHeld):
        quote_price(player, artist, Side.BUY)
    with pytest.raises(NoneRemaining):
        quote_price(make_player("bob"), artist, Side.BUY)  # the one right is taken


# --- buy refusals: each reason, and nothing changes ---------------------------


def _already_held(player: Player, artist: Artist) -> Quote:
    hold(player, artist)
    return quote(player, artist, Side.BUY, artist.price)


def _not_enough_money(player: Player, artist: Artist) -> Quote:
    player.money = artist.price - 1
    return quote(player, artist, Side.BUY, artist.price)


def _none_remaining(player: Player, artist: Artist) -> Quote:
    artist.holders = artist.max_shares
    return quote(player, artist, Side.BUY, artist.price)


REFUSALS: dict[str, tuple[type[DataError], Callable[[Player, Artist], Quote]]] = {
    "already-held": (AlreadyHeld, _already_held),
    "not-enough-money": (NotEnoughMoney, _not_enough_money),
    "none-remaining": (NoneRemaining, _none_remaining),
    "wrong-side": (QuoteInvalid, lambda p, a: quote(p, a, Side.SELL, a.price)),
    "wrong-player": (QuoteInvalid, lambda p, a: quote("bob", a, Side.BUY, a.price)),
    "wrong-artist": (QuoteInvalid, lambda p, a: quote(p, OTHER_MBID, Side.BUY, a.price)),
}


@pytest.mark.parametrize("reason", sorted(REFUSALS))
def test_a_refused_buy_raises_its_reason_and_changes_nothing(reason: str) -> None:
    error, setup = REFUSALS[reason]
    player, artist = make_player(), make_artist(price=1_000, holders=4)
    bad = setup(player, artist)
    before = snapshot(player, artist)
    with pytest.raises(error):
        buy(player, artist, bad, NOW)
    assert snapshot(player, artist) == before


def test_buy_without_enough_money_reports_what_it_needs_and_has() -> None:
    player, artist = make_player(money=999), make_artist(price=1_000)
    with pytest.raises(NotEnoughMoney) as info:
        buy(player, artist, quote(player, artist, Side.BUY, 1_000), NOW)
    assert (info.value.fields["needed"], info.value.fields["available"]) == (1_000, 999)


@given(
    reason=st.sampled_from(sorted(REFUSALS)),
    price=st.integers(1, 50_000),
    lcp=st.integers(1, 50_000),
    max_shares=st.integers(1, 20),
    data=st.data(),
)
def test_any_refused_buy_changes_neither_player_nor_artist(
    reason: str, price: int, lcp: int, max_shares: int, data: st.DataObject
) -> None:
    error, setup = REFUSALS[reason]
    holders = data.draw(st.integers(0, max_shares - 1))
    player = make_player(money=data.draw(st.integers(price, 100_000)))
    artist = make_artist(price=price, max_shares=max_shares, holders=holders, lcp=lcp)
    bad = setup(player, artist)
    before = snapshot(player, artist)
    with pytest.raises(error):
        buy(player, artist, bad, NOW)
    assert snapshot(player, artist) == before
    assert player.money >= 0


# --- random trade sequences ------------------------------------------------------

PLAYERS = ("alice", "bob", "carol", "dave")


@st.composite
def markets(draw: st.DrawFn) -> list[Artist]:
    return [
        make_artist(
            price=draw(st.integers(1, 15_000)),
            max_shares=draw(st.integers(1, 4)),
            lcp=draw(st.integers(1, 15_000)),
            mbid=mbid,
        )
        for mbid in MBIDS[: draw(st.integers(1, len(MBIDS)))]
    ]


steps = st.lists(
    st.tuples(
        st.integers(0, len(PLAYERS) - 1),
        st.integers(0, len(MBIDS) - 1),
        st.sampled_from(Side),
        st.one_of(st.none(), st.integers(1, 25_000)),  # None: quote the current price
    ),
    max_size=60,
)


@given(markets(), steps)
def test_any_sequence_of_trades_keeps_every_invariant(
    artists: list[Artist], trade_steps: list[tuple[int, int, Side, int | None]]
) -> None:
    players = [make_player(name) for name in PLAYERS]
    ledger: dict[str, list[LedgerEntry]] = {name: [] for name in PLAYERS}
    for p_index, a_index, side, quoted in trade_steps:
        player, artist = players[p_index], artists[a_index % len(artists)]
        before = snapshot(player, artist)
        held = artist.mbid in player.holdings
        remaining = artist.remaining
        if side is Side.BUY:
            price = artist.price if quoted is None else quoted
            try:
                outcome = buy(player, artist, quote(player, artist, side, price), NOW)
            except (AlreadyHeld, NotEnoughMoney, NoneRemaining) as refusal:
                assert snapshot(player, artist) == before
                if held:
                    assert isinstance(refusal, AlreadyHeld)
                elif player.money < price:
                    assert isinstance(refusal, NotEnoughMoney)
                else:
                    assert isinstance(refusal, NoneRemaining)
                    assert remaining == 0
            else:
                assert not held and remaining > 0 and before[0] >= price
                assert player.money == before[0] - price
                assert artist.price == pricing.price_after_buy(
                    before[2], artist.last_close_price, remaining, artist.max_shares
                )
                ledger[player.name].append(outcome.ledger)
        else:
            price = artist.sell_price if quoted is None else quoted
            try:
                outcome = sell(player, artist, quote(player, artist, side, price), NOW)
            except NotHeld:
                assert not held
                assert snapshot(player, artist) == before
            else:
                assert held
                assert player.money == before[0] + price
                assert artist.price == pricing.price_after_sell(
                    before[2], artist.last_close_price, remaining, artist.max_shares
                )
                ledger[player.name].append(outcome.ledger)

        for a in artists:
            assert a.price >= 1
            assert a.remaining >= 0
            assert 0 <= a.holders <= a.max_shares
            assert a.holders == sum(1 for p in players if a.mbid in p.holdings)
        for p in players:
            assert p.money >= 0
            assert p.money == STARTING_MONEY + sum(e.amount for e in ledger[p.name])
            assert all(e.player == p.name for e in ledger[p.name])
