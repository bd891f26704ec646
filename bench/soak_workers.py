"""What the soak's child processes run: api workers and the daily close.

Each child is started with ``spawn``, builds its own injector from the same
configuration as an api process or the close would (``wiring="postgres"`` with a
Redis URL and the fake last.fm), and writes one JSON line per call to a log file
of its own *as the call returns* (one ``os.write`` on an ``O_APPEND`` descriptor:
a worker killed with SIGKILL leaves every line it wrote whole). The parent reads
the logs at the end and checks every success and failure against the database.
"""

from __future__ import annotations

import base64
import json
import os
import random
import ssl
import threading
import time
import traceback
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from injector import Injector

from datm import create_injector
from datm.domain.errors import DatmError
from datm.services.auth import AuthService
from datm.services.close import CloseService
from datm.services.leagues import LeagueService
from datm.services.players import PlayerService
from datm.services.trading import TradingService

LEAGUE = "bronze"
STOP_SECONDS = 30.0  # a thread still busy this long after the stop is wedged


def quote_id_of(token: str) -> str:
    """The id a signed quote carries (its payload is URL-safe base64 JSON)."""
    payload = token.split(".")[0]
    document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(document["i"])


class Flag:
    """A flag the parent raises by creating a file: unlike a ``multiprocessing.Event``,
    it survives a process killed while waiting on it."""

    def __init__(self, path: str) -> None:
        self.path = path

    def set(self) -> None:
        with open(self.path, "w", encoding="utf-8"):
            pass

    def is_set(self) -> bool:
        return os.path.exists(self.path)

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True


class Log:
    """JSON lines appended to a file, one ``os.write`` each."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, record: dict[str, Any]) -> None:
        os.write(self._fd, (json.dumps(record, default=str) + "\n").encode("utf-8"))

    def close(self) -> None:
        os.close(self._fd)


def describe(error: BaseException) -> dict[str, Any]:
    """What a failed call's log line says about its exception."""
    kind = type(error)
    facts: dict[str, Any] = {
        "ok": False,
        "error": f"{kind.__module__}.{kind.__qualname__}",
        "datm": isinstance(error, DatmError),
    }
    if isinstance(error, DatmError):
        facts["family"], facts["code"] = error.family, error.code
    else:
        facts["family"], facts["code"] = "raw", ""
        facts["trace"] = "".join(traceback.format_exception(error))[-4000:]
    return facts


def allow(origin_ca: str, auth_url: str, user: str) -> None:
    """Play the user's browser on the fake last.fm's page: allow the game."""
    context = ssl.create_default_context(cafile=origin_ca)
    url = f"{auth_url}&{urlencode({'user': user})}"
    with urllib.request.urlopen(url, context=context, timeout=10) as reply:
        if reply.status != 200:
            raise RuntimeError(f"the fake's auth page said {reply.status}")


def log_in(auth: AuthService, ca_file: str, user: str) -> str:
    """A login through the fake last.fm, as the api and the user's browser do it."""
    link = auth.login_link()
    assert link.token is not None
    allow(ca_file, link.url, user)
    key: str = auth.login(link.token).session_key
    return key


@dataclass(frozen=True, slots=True)
class WorkerPlan:
    slot: int
    generation: int
    config: dict[str, Any]  # datm settings, as an api process's configuration
    ca_file: str
    shared: tuple[tuple[str, str], ...]  # (player, session key): every thread, never deleted
    own: tuple[tuple[str, ...], ...]  # per thread: players only it logs in and deletes
    mbids: tuple[str, ...]
    hot: tuple[str, ...]  # artists most calls go for
    log_path: str
    seed: int


class Api:
    """One api process's services, and the calls the soak makes through them."""

    def __init__(self, injector: Injector, ca_file: str, log: Log) -> None:
        self.auth = injector.get(AuthService)
        self.trading = injector.get(TradingService)
        self.players = injector.get(PlayerService)
        self.leagues = injector.get(LeagueService)
        self.ca_file = ca_file
        self.log = log

    def call(
        self, op: str, player: str, run: Callable[[], dict[str, Any]], **facts: Any
    ) -> dict[str, Any]:
        """Run one call, log its outcome (with ``run``'s facts on success); the record."""
        record: dict[str, Any] = {"op": op, "player": player, **facts}
        try:
            record.update(run())
            record["ok"] = True
        except Exception as error:
            record.update(describe(error))
        record["t"] = time.time()
        self.log.write(record)
        return record


def work(plan: WorkerPlan, stop: Flag) -> None:
    """An api process: ``len(plan.own)`` threads of mixed traffic until ``stop``."""
    log = Log(plan.log_path)
    try:
        injector = create_injector(plan.config, wiring="postgres", environ={})
        api = Api(injector, plan.ca_file, log)
        log.write({"op": "started", "slot": plan.slot, "t": time.time(), "ok": True})
        threads = [
            threading.Thread(target=_thread, args=(api, plan, i, stop), daemon=True)
            for i in range(len(plan.own))
        ]
        for thread in threads:
            thread.start()
        stop.wait()
        deadline = time.monotonic() + STOP_SECONDS
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        wedged = [t.name for t in threads if t.is_alive()]
        log.write({"op": "stopped", "wedged": wedged, "t": time.time(), "ok": not wedged})
        os._exit(3 if wedged else 0)
    except BaseException as error:
        log.write({"op": "process", "player": "", **describe(error), "t": time.time()})
        os._exit(2)


def _thread(api: Api, plan: WorkerPlan, index: int, stop: Flag) -> None:
    rng = random.Random(plan.seed * 7919 + plan.generation * 131 + index)
    own: dict[str, str | None] = dict.fromkeys(plan.own[index])  # player -> session key
    shared = plan.shared
    try:
        while not stop.is_set():
            # Own players first log in (again: a new process, a deletion, a lost session).
            missing = [p for p, key in own.items() if key is None]
            if missing:
                player = missing[0]

                def login(player: str = player) -> dict[str, Any]:
                    own[player] = log_in(api.auth, api.ca_file, player)
                    return {}

                if not api.call("login", player, login)["ok"]:
                    time.sleep(0.05)
                continue
            if rng.random() < 0.5:
                player, key = rng.choice(shared)
                mine = False
            else:
                player = rng.choice(list(own))
                key, mine = own[player] or "", True
            _one_call(api, plan, rng, player, key, mine, own)
    except BaseException as error:  # never expected: the calls catch everything
        api.log.write({"op": "thread", "player": "", **describe(error), "t": time.time()})


def _one_call(
    api: Api,
    plan: WorkerPlan,
    rng: random.Random,
    player: str,
    key: str,
    mine: bool,
    own: dict[str, str | None],
) -> None:
    """One call of the mix for ``player``; an own player whose session is gone logs
    in again next."""
    roll = rng.random()
    mbid = rng.choice(plan.hot) if rng.random() < 0.5 else rng.choice(plan.mbids)
    record: dict[str, Any] = {}
    if roll < 0.55:
        side = "buy" if roll < 0.3 else "sell"
        record = _trade(api, player, key, mbid, side)
    elif roll < 0.65:
        record = api.call("profile", player, lambda: _profile(api, player, rng.random() < 0.3))
    elif roll < 0.8:
        days = rng.choice((0, 1, 7, 30))
        which = rng.choice(("top", "near", "position"))
        record = api.call(f"board_{which}", player, lambda: _board(api, which, player, days))
    elif roll < 0.88:
        record = api.call("money", player, lambda: {"money": api.players.money(key)})
    elif roll < 0.91:
        record = api.call("reset", player, lambda: _reset(api, key))
    elif roll < 0.93 and mine:
        record = api.call("delete", player, lambda: _delete(api, key))
        if record["ok"]:
            own[player] = None  # logs in again next: a new player of the same name
    elif roll < 0.96 and mine:

        def login() -> dict[str, Any]:
            own[player] = log_in(api.auth, api.ca_file, player)
            return {}

        record = api.call("login", player, login)
    else:
        record = api.call("check", player, lambda: {"who": api.auth.check(key)})
    if mine and record.get("family") == "authentication":
        own[player] = None


def _trade(api: Api, player: str, key: str, mbid: str, side: str) -> dict[str, Any]:
    quoted: dict[str, Any] = {}

    def quote() -> dict[str, Any]:
        signed = api.trading.quote(key, mbid, side)
        quoted["token"] = signed.token
        return {"quote_id": quote_id_of(signed.token), "price": signed.price}

    quoting = api.call(f"quote_{side}", player, quote, mbid=mbid)
    if not quoting["ok"]:
        return quoting
    token = quoted["token"]
    execute = api.trading.buy if side == "buy" else api.trading.sell

    def trade() -> dict[str, Any]:
        receipt = execute(key, token)
        return {"price": receipt.price, "at": receipt.at.isoformat()}

    return api.call(side, player, trade, mbid=mbid, quote_id=quote_id_of(token))


def _profile(api: Api, player: str, images: bool) -> dict[str, Any]:
    profile = api.players.profile(player, with_images=images)
    return {"holdings": len(profile.holdings)}


def _board(api: Api, which: str, player: str, days: int) -> dict[str, Any]:
    if which == "top":
        return {"rows": len(api.leagues.top(LEAGUE, 10, days))}
    if which == "near":
        return {"rows": len(api.leagues.near(player, days))}
    return {"position": api.leagues.position(player, days).position}


def _reset(api: Api, key: str) -> dict[str, Any]:
    result = api.players.reset(key)
    return {"sold": [[s.mbid, s.price, s.at.isoformat()] for s in result.sold]}


def _delete(api: Api, key: str) -> dict[str, Any]:
    api.players.delete(key)
    return {}


# --- the daily close ------------------------------------------------------------------


def close(config: dict[str, Any], day: date, log_path: str, started: Flag) -> None:
    """One run of the daily close of ``day``, as analytics runs it; logs its report or
    its error, then exits."""
    log = Log(log_path)
    try:
        injector = create_injector(config, wiring="postgres", environ={})
        service = injector.get(CloseService)
        started.set()
        try:
            report = service.run(day=day)
        except Exception as error:
            log.write({"op": "close", "day": str(day), **describe(error), "t": time.time()})
            os._exit(1)
        log.write(
            {
                "op": "close",
                "day": str(day),
                "ok": True,
                "finished": report.finished,
                "already": report.already_closed,
                "closed": report.artists_closed,
                "holders": report.holders_paid,
                "dividends": report.dividends_paid,
                "failed": len(report.failed),
                "t": time.time(),
            }
        )
        os._exit(0)
    except BaseException as error:
        log.write({"op": "close", "day": str(day), **describe(error), "t": time.time()})
        os._exit(2)
