"""The audit on every backend finds each kind of break it reports, planted behind the
services' back: by SQL on Postgres (as a lost write or a hand edit would leave it),
in the store on memory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from harness import Game

from datm.adapters.memory.store import InMemoryStore
from datm.domain.player import Holding, LedgerEntry, LedgerKind
from datm.ports.audit import AuditChecks
from datm.services.audit import AuditReport, MoneyMismatch, ShareMismatch

NOT_NEGATIVE = "ck_players_money_not_negative"


class Planter:
    """Breaks the books of one game directly in its store."""

    def __init__(self, game: Game, backend: str) -> None:
        self._game = game
        self._backend = backend

    def _sql(self, sql: str, **params: Any) -> None:
        from sqlalchemy import Engine

        with self._game.get(Engine).connect() as conn:
            conn.exec_driver_sql(sql, params)

    def _store(self) -> InMemoryStore:
        return self._game.get(InMemoryStore)

    def set_money(self, name: str, money: int) -> None:
        if self._backend == "postgres":
            self._sql("UPDATE players SET money = %(m)s WHERE name = %(n)s", m=money, n=name)
        else:
            with self._store().mutex:
                self._store().players[name].money = money

    def add_ledger(self, name: str, amount: int) -> None:
        now = self._game.clock.now()
        if self._backend == "postgres":
            self._sql(
                "INSERT INTO ledger (player, amount, kind, at)"
                " VALUES (%(n)s, %(a)s, 'reset', %(t)s)",
                n=name,
                a=amount,
                t=now,
            )
        else:
            with self._store().mutex:
                entry = LedgerEntry(name, amount, LedgerKind.RESET, now)
                self._store().ledger.setdefault(name, []).append(entry)

    def set_holders(self, mbid: str, holders: int) -> None:
        if self._backend == "postgres":
            self._sql("UPDATE artists SET holders = %(h)s WHERE mbid = %(m)s", h=holders, m=mbid)
        else:
            with self._store().mutex:
                self._store().artists[mbid].holders = holders

    def add_holding(self, name: str, mbid: str, price: int) -> None:
        now = self._game.clock.now()
        if self._backend == "postgres":
            self._sql(
                "INSERT INTO holdings (player, mbid, price_paid, since)"
                " VALUES (%(n)s, %(m)s, %(p)s, %(t)s)",
                n=name,
                m=mbid,
                p=price,
                t=now,
            )
        else:
            with self._store().mutex:
                self._store().players[name].holdings[mbid] = Holding(mbid, price, now)

    @contextmanager
    def allow_negative_money(self) -> Iterator[None]:
        """Postgres refuses negative money (the last line of defence): lift that
        for the test, then put it back once the money is made good."""
        if self._backend != "postgres":
            yield
            return
        self._sql(f"ALTER TABLE players DROP CONSTRAINT {NOT_NEGATIVE}")
        try:
            yield
        finally:
            self._sql("UPDATE players SET money = 0 WHERE money < 0")
            self._sql(f"ALTER TABLE players ADD CONSTRAINT {NOT_NEGATIVE} CHECK (money >= 0)")


@pytest.fixture
def planter(game: Game, backend: str) -> Planter:
    return Planter(game, backend)


def test_the_audit_finds_every_kind_of_break_it_reports(game: Game, planter: Planter) -> None:
    alice, bob, carol, dave = (game.login() for _ in range(4))
    held, emptied, oversold = game.cheapest(3)
    paid = game.buy(alice, held.mbid)
    game.buy(dave, emptied.mbid)
    game.sell(dave, emptied.mbid)
    bought = game.buy(dave, oversold.mbid)
    shares = {a.mbid: game.market.market_data(a.mbid).max_shares for a in (held, emptied)}
    assert game.market.market_data(oversold.mbid).max_shares == 1  # few players: one share
    assert game.audit.audit().ok

    planter.set_money(alice.player, paid.money + 5)  # money without its ledger entry
    planter.set_money(bob.player, 20_007)  # a player with no ledger at all
    planter.set_holders(held.mbid, 0)  # a holder the artist no longer counts
    planter.set_holders(emptied.mbid, 1)  # a holder counted with no holding
    planter.add_holding(bob.player, oversold.mbid, bought.price)  # beyond its shares
    with planter.allow_negative_money():
        planter.add_ledger(carol.player, -20_005)
        planter.set_money(carol.player, -5)  # as the ledger says, but below zero

        report = game.audit.audit()

    assert report == AuditReport(
        players=4,
        artists=3,
        money=tuple(
            sorted(
                (
                    MoneyMismatch(alice.player, paid.money + 5, paid.money),
                    MoneyMismatch(bob.player, 20_007, 20_000),
                    MoneyMismatch(carol.player, -5, -5),
                ),
                key=lambda m: m.player,
            )
        ),
        shares=tuple(
            sorted(
                (
                    ShareMismatch(held.mbid, 0, 1, shares[held.mbid]),
                    ShareMismatch(emptied.mbid, 1, 0, shares[emptied.mbid]),
                    ShareMismatch(oversold.mbid, 1, 2, 1),
                ),
                key=lambda s: s.mbid,
            )
        ),
    )
    assert not report.ok


def test_the_checks_of_an_empty_game_find_nothing(game: Game) -> None:
    checks = game.get(AuditChecks)  # type: ignore[type-abstract]

    assert (checks.money().players, checks.money().mismatches) == (0, ())
    assert (checks.shares().artists, checks.shares().mismatches) == (0, ())
