"""datm's logging: one logger per module under ``datm``, a NullHandler and nothing
else configured, and a WARNING for every fallback and retry, once per outage."""

from __future__ import annotations

import ast
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import datm
from datm.adapters.lastfm.pylast_lastfm import PylastLastfm
from datm.adapters.redis.client import RedisHealth, address_of, connect
from datm.domain.errors import Busy, Conflict
from datm.fake_lastfm import FakeLastfm, Fault
from datm.services.retry import retry_on_conflict

PACKAGE = Path(datm.__file__).resolve().parent
ROOT = PACKAGE.parent
# From this file, not the package: the lowest-versions run imports datm from a wheel.
RECORDINGS = Path(__file__).resolve().parents[2] / "tests" / "data" / "lastfm-recordings"
# The command line is a program, not the library: it configures logging for itself.
PROGRAMS = ("cli", "fake_lastfm")
# Third-party loggers datm puts a filter on (a filter, never a level or a handler).
FILTERED = {"pylast"}
CONFIGURING = {"basicConfig", "dictConfig", "fileConfig", "setLevel", "addHandler"}


def library_modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] in PROGRAMS:
            continue
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def calls(tree: ast.Module, names: set[str]) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in names:
                yield node


def test_every_module_logs_to_a_logger_named_after_itself() -> None:
    odd = []
    for path, tree in library_modules():
        for call in calls(tree, {"getLogger"}):
            [arg] = call.args
            named = isinstance(arg, ast.Name) and arg.id == "__name__"
            filtered = isinstance(arg, ast.Constant) and arg.value in FILTERED
            if not (named or filtered):
                odd.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert odd == []


def test_the_library_configures_no_logging_but_the_package_null_handler() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {ast.unparse(call)}"
        for path, tree in library_modules()
        for call in calls(tree, CONFIGURING)
    ]
    assert found == [
        "datm/__init__.py: logging.getLogger(__name__).addHandler(logging.NullHandler())"
    ]


SCRIPT = """
import json, logging, pkgutil, importlib

def state():
    loggers = logging.root.manager.loggerDict.items()
    return {n: [l.level, sorted(type(h).__name__ for h in l.handlers)]
            for n, l in loggers if isinstance(l, logging.Logger)}

# The libraries datm drives set their own defaults as they are imported (injector
# and SQLAlchemy put their loggers at WARNING): that is the baseline.
for name in ("injector", "sqlalchemy", "pylast", "redis", "httpx2", "dogpile.cache",
             "limits", "tenacity", "cachetools", "rich"):
    importlib.import_module(name)
before = state()
root_before = [logging.root.level, list(logging.root.handlers)]
import datm
for module in pkgutil.walk_packages(datm.__path__, "datm."):
    if not module.name.startswith(("datm.cli", "datm.adapters.postgres")):
        importlib.import_module(module.name)
from datm.services.artists import ArtistService
injector = datm.create_injector({"QUOTE_SECRET": "x" * 32}, wiring="memory", environ={})
injector.get(ArtistService).search("nirv")
after = state()
print(json.dumps({
    "root": [logging.root.level, list(logging.root.handlers)] == root_before,
    "changed": sorted(n for n in before if after[n] != before[n]),
    "new": {n: v for n, v in after.items() if n not in before},
}))
"""


def test_importing_and_using_datm_leaves_every_logger_as_python_made_it() -> None:
    # A fresh interpreter: this one's root logger carries pytest's handlers.
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout)

    assert state["root"] is True
    assert state["changed"] == []  # no library's logger touched
    # datm's own loggers: no level, and the one NullHandler on the package's.
    assert state["new"]["datm"] == [logging.NOTSET, ["NullHandler"]]
    assert {name: value for name, value in state["new"].items() if name != "datm"} == {
        name: [logging.NOTSET, []] for name in state["new"] if name != "datm"
    }


# --- Redis: one WARNING per outage, not per call ---------------------------------------


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_redis_outage_logs_one_warning_then_one_info_when_it_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ticks = Ticks()
    health = RedisHealth(monotonic=ticks, address="cache.internal:6380/2")
    caplog.set_level(logging.DEBUG, logger="datm")

    for _ in range(3):  # three calls fail during one outage
        health.failed(ConnectionRefusedError(111, "Connection refused"))
        ticks.now += 60
    health.succeeded()
    health.succeeded()

    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == ["WARNING", "DEBUG", "DEBUG", "INFO"]
    warning = lines[0][1]
    assert warning.startswith("Redis unreachable at cache.internal:6380/2 (")
    assert "Connection refused" in warning and "falling back to" in warning
    assert lines[3][1].startswith("Redis at cache.internal:6380/2 reachable again")


def test_a_closed_health_never_lets_a_caller_try_redis_again() -> None:
    health = RedisHealth()
    health.close()
    assert not health.available()


def test_the_address_in_redis_log_lines_never_carries_the_password() -> None:
    client = connect("redis://:SeCrEt-pw@cache.internal:6380/2")
    try:
        assert address_of(client) == "cache.internal:6380/2"
    finally:
        client.close()
    socket_client = connect("unix:///run/redis.sock?db=3&password=SeCrEt-pw")
    try:
        assert address_of(socket_client) == "/run/redis.sock/3"
    finally:
        socket_client.close()


# --- retries: the cause, the attempt, the wait -------------------------------------------


def test_every_retry_of_a_conflict_is_a_warning_with_cause_attempt_and_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = []

    @retry_on_conflict(attempts=3)
    def trade() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise Conflict("55P03 players_pkey")
        return "done"

    with caplog.at_level(logging.WARNING, logger="datm.services.retry"):
        assert trade() == "done"

    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    for attempt, message in enumerate(messages, start=1):
        assert "trade" in message and "55P03 players_pkey" in message
        assert f"on attempt {attempt} of 3; running it again in " in message


def test_running_out_of_attempts_is_a_warning_too(caplog: pytest.LogCaptureFixture) -> None:
    @retry_on_conflict(attempts=2)
    def trade() -> None:
        raise Conflict("40P01")

    with caplog.at_level(logging.WARNING, logger="datm.services.retry"), pytest.raises(Busy):
        trade()

    assert "still conflicting after 2 attempts (transaction conflict: 40P01)" in caplog.text


def test_every_retry_of_last_fm_is_a_warning_with_cause_attempt_and_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with FakeLastfm(RECORDINGS) as fake:
        lastfm = PylastLastfm(
            fake.api_key,
            fake.api_secret,
            url=fake.url,
            ca_file=str(fake.ca_file),
            retries=3,
            backoff_seconds=0.01,
            max_backoff_seconds=0.02,
        )
        fake.inject(Fault.HTTP_503, times=2)
        with caplog.at_level(logging.WARNING, logger="datm"):
            assert lastfm.chart_top_artists(1, 1)
        lastfm.close()

    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 2
    for attempt, message in enumerate(messages, start=1):
        assert message.startswith(f"last.fm chart.getTopArtists failed on attempt {attempt} of 4")
        assert "(HTTP 503)" in message and "trying again in 0.0" in message
