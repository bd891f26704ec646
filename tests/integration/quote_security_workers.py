"""What the worker processes of ``test_quote_security_processes.py`` run.

Importable by a child started with ``spawn``: picklable arguments, an injector of
its own built from the database URL (``process_workers.build_injector``), answers
through queues. A worker takes rounds of attempts from its inbox; in each round it
waits at the barrier with the other workers, then makes its attempts in order and
reports each one's ``Outcome``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from process_workers import JOIN_SECONDS, Outcome, build_injector, failure, quote_id_of

from datm.services.players import PlayerService
from datm.services.trading import TradingService

BARRIER_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """One execution of a token: what it is (``valid``, ``replay``...), whose session
    executes it, which side, the token."""

    label: str
    session_key: str
    side: str
    token: str


def altered(token: str, **changes: Any) -> str:
    """The token with its document changed and its original signature kept."""
    payload, signature = token.split(".")
    doc = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw = json.dumps({**doc, **changes}, separators=(",", ":"), sort_keys=True).encode()
    return f"{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{signature}"


def contest(
    url: str,
    worker: int,
    warm_keys: tuple[str, ...],
    inbox: Queue[Any],
    outbox: Queue[Any],
    barrier: Barrier,
) -> None:
    """For every ``(round, attempts)`` from ``inbox``: wait at ``barrier``, make the
    attempts in order, put ``(worker, round, [(label, outcome), ...])``. ``None`` ends."""
    injector = build_injector(url)
    trading = injector.get(TradingService)
    for key in warm_keys:  # the session cache and the pool, before the first round
        injector.get(PlayerService).money(key)
    while True:
        job = inbox.get(timeout=JOIN_SECONDS)
        if job is None:
            return
        number, attempts = job
        barrier.wait(timeout=BARRIER_SECONDS)
        seen: list[tuple[str, Outcome]] = []
        for attempt in attempts:
            execute = trading.buy if attempt.side == "buy" else trading.sell
            try:
                quote_id = quote_id_of(attempt.token)
            except Exception:  # an attempt whose token is no quote at all
                quote_id = ""
            try:
                receipt = execute(attempt.session_key, attempt.token)
                outcome = Outcome(attempt.side, "", quote_id=quote_id, price=receipt.price)
            except Exception as error:
                outcome = failure(attempt.side, "", error, quote_id=quote_id)
            seen.append((attempt.label, outcome))
        outbox.put((worker, number, seen))
