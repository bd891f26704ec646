"""The audit's checks on the in-memory store, each under its mutex: one instant."""

from __future__ import annotations

from collections import Counter

from datm.adapters.memory.store import InMemoryStore
from datm.domain.player import STARTING_MONEY
from datm.ports.audit import AuditChecks, MoneyCheck, MoneyMismatch, ShareCheck, ShareMismatch


class InMemoryAuditChecks(AuditChecks):
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def money(self) -> MoneyCheck:
        store = self._store
        with store.mutex:
            found = []
            for name in sorted(store.players):
                money = store.players[name].money
                expected = STARTING_MONEY + sum(e.amount for e in store.ledger.get(name, ()))
                if money != expected or money < 0:
                    found.append(MoneyMismatch(name, money, expected))
            return MoneyCheck(len(store.players), tuple(found))

    def shares(self) -> ShareCheck:
        store = self._store
        with store.mutex:
            counted = Counter(m for p in store.players.values() for m in p.holdings)
            found = [
                ShareMismatch(mbid, a.holders, counted[mbid], a.max_shares)
                for mbid, a in sorted(store.artists.items())
                if counted[mbid] != a.holders or counted[mbid] > a.max_shares
            ]
            return ShareCheck(len(store.artists), tuple(found))
