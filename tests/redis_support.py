"""Real Redis for the cache and rate-limit tests: the shared server, and servers of
a test's own that it may kill.

The shared server is ``DATM_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``);
other test runs use it too, so every test works under a key prefix of its own and
deletes its keys afterwards. Where Redis cannot be reached a test skips with a
reason naming the command that starts it; with ``DATM_REQUIRE_REDIS=1`` it fails
instead. A test that stops Redis starts its own ``redis-server`` on a free
loopback port (``OwnRedis``) and never touches the shared one.

Import the module (``import redis_support``), as ``postgres_support``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from typing import NoReturn

import pytest
import redis

DEFAULT_URL = "redis://127.0.0.1:6379/0"
START_COMMAND = (
    "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no"
)
SERVER_OPTIONS = ("--save", "", "--appendonly", "no", "--daemonize", "no")
PING_TIMEOUT_SECONDS = 1.0
START_SECONDS = 10.0


def shared_url() -> str:
    return os.environ.get("DATM_TEST_REDIS_URL") or DEFAULT_URL


def unavailable(reason: str) -> NoReturn:
    """Skip, saying how to start Redis; fail instead under DATM_REQUIRE_REDIS=1."""
    reason = f"{reason}; start it: {START_COMMAND}" if "start it" not in reason else reason
    if os.environ.get("DATM_REQUIRE_REDIS") == "1":
        pytest.fail(f"{reason} (DATM_REQUIRE_REDIS=1, so this fails)", pytrace=False)
    pytest.skip(reason)


def require_shared() -> str:
    """The shared server's URL, or skip (fail under DATM_REQUIRE_REDIS=1)."""
    url = shared_url()
    client = redis.Redis.from_url(url, socket_timeout=PING_TIMEOUT_SECONDS)
    try:
        client.ping()
    except (redis.RedisError, OSError) as error:
        unavailable(f"Redis at {url} is not reachable ({error!r})")
    finally:
        client.close()
    return url


def unique_prefix() -> str:
    return f"datm-test:{uuid.uuid4().hex[:12]}:"


def delete_keys(url: str, pattern: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=PING_TIMEOUT_SECONDS)
    try:
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class OwnRedis:
    """A ``redis-server`` of the test's own on 127.0.0.1, started and killed at will."""

    def __init__(self, password: str | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server is not on the PATH; install Redis (apt-get install redis)")
        self.binary = binary
        self.port = free_port()
        auth = f":{password}@" if password else ""
        self.url = f"redis://{auth}127.0.0.1:{self.port}/0"
        self.arguments = (*SERVER_OPTIONS, *(("--requirepass", password) if password else ()))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", *self.arguments],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=PING_TIMEOUT_SECONDS)
        deadline = time.monotonic() + START_SECONDS
        try:
            while True:
                try:
                    client.ping()
                    return
                except (redis.RedisError, OSError):
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        self.kill()
                        pytest.fail(f"redis-server did not start on port {self.port}")
                    time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=START_SECONDS)
        self.process = None
