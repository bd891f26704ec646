"""The soak's own servers: a throw-away PostgreSQL cluster, a redis-server and the
fake last.fm with generated recordings, each on a free loopback port, each one the
soak may restart or stop (never the machine's shared servers), and all torn down
with bounded waits."""

from __future__ import annotations

import glob
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "tests" / "data" / "lastfm-recordings"
WAIT = 60.0  # the bound of every wait for a server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres() -> list[str]:
    """How to run PostgreSQL's tools: as the postgres user when this is root."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--"] if runuser else ["su", "postgres", "-c"]


def _pg_bin(tool: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    if found:
        return found[-1]
    path = shutil.which(tool)
    if path is None:
        raise RuntimeError(f"no PostgreSQL {tool} on this machine")
    return path


class Cluster:
    """A PostgreSQL cluster of the soak's own in a temporary directory."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "pgdata"
        self.log = workdir / "postgres.log"
        self.port = free_port()
        self._prefix = _as_postgres()
        self._workdir = workdir

    @property
    def server_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/"

    def _run(self, *args: str, timeout: float = WAIT) -> subprocess.CompletedProcess[str]:
        command = [*self._prefix, *args]
        if self._prefix[:1] == ["su"]:
            command = [*self._prefix, " ".join(args)]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)

    def init(self) -> None:
        if self._prefix:
            shutil.chown(self._workdir, "postgres")
        done = self._run(
            _pg_bin("initdb"), "-D", str(self.dir), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
        with open(self.dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self._workdir}'\nmax_connections = 200\n"
                "shared_buffers = 64MB\n"
            )

    def start(self) -> None:
        self._ctl("start", "-l", str(self.log))

    def restart(self, mode: str = "fast") -> None:
        self._ctl("restart", "-m", mode, "-l", str(self.log))

    def stop(self, mode: str = "immediate") -> None:
        if (self.dir / "postmaster.pid").exists():
            self._ctl("stop", "-m", mode, check=False)

    def _ctl(self, action: str, *args: str, check: bool = True) -> None:
        done = self._run(
            _pg_bin("pg_ctl"), action, "-D", str(self.dir), "-w", "-t", str(int(WAIT)), *args,
            timeout=WAIT + 10,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise RuntimeError(f"pg_ctl {action} failed: {done.stderr.strip()}")

    def create_database(self, name: str) -> str:
        import psycopg2

        conn = psycopg2.connect(self.server_url + "postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name}")
        conn.close()
        return self.server_url + name


class RedisServer:
    """A redis-server of the soak's own, without persistence: a restart empties it."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("no redis-server on this machine")
        log = open(self._workdir / "redis.log", "ab")  # noqa: SIM115 - the child owns it
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self._workdir)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not answer")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.kill()
        process.wait(WAIT)


# --- the fake last.fm's recordings ---------------------------------------------------

GROWTH_STEPS = 200  # recorded answers per artist; each request takes the next, then the last


def chart_top_listeners() -> int:
    text = (RECORDINGS / "chart.getTopArtists-limit1.yaml").read_text(encoding="utf-8")
    match = re.search(r"<listeners>(\d+)</listeners>", text)
    if match is None:
        raise RuntimeError("no listeners in the recorded chart")
    return int(match.group(1))


def _artist_xml(name: str, mbid: str, listeners: int, playcount: int) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" ?>\n<lfm status="ok"><artist>'
        f"<name>{name}</name><mbid>{mbid}</mbid>"
        f"<url>https://www.last.fm/music/{name.replace(' ', '+')}</url>"
        "<streamable>0</streamable><ontour>0</ontour>"
        f"<stats><listeners>{listeners}</listeners><playcount>{playcount}</playcount></stats>"
        "</artist></lfm>"
    )


def write_recordings(folder: Path, artists: int, players: int, seed: int) -> list[str]:
    """The project's recordings plus ``artists`` generated ones (artist.getInfo by
    MBID), each answering with numbers that grow at every request, so that every
    close pays points and dividends. Prices of 300-3,000, max shares of 1-12 for
    ``players`` players. The MBIDs, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in RECORDINGS.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    rng = random.Random(seed)
    top = chart_top_listeners()
    mbids = []
    for number in range(artists):
        mbid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        shares = rng.randint(1, 12)
        listeners = max(1, int(top * (shares - 0.5) / (0.1 * players)))
        price = rng.randint(300, 3_000)
        playcount = int(price * listeners**0.5 / 0.07)
        name = f"Soak Artist {number:03d}"
        interactions = []
        for _ in range(GROWTH_STEPS):
            interactions.append(
                {
                    "request": {
                        "body": f"method=artist.getInfo&mbid={mbid}",
                        "method": "POST",
                        "uri": "https://ws.audioscrobbler.com/2.0/",
                    },
                    "response": {
                        "status": {"code": 200, "message": "OK"},
                        "body": {"string": _artist_xml(name, mbid, listeners, playcount)},
                    },
                }
            )
            listeners += rng.randint(-200, 3_000)
            playcount += rng.randint(0, 400_000)
        document = {"interactions": interactions, "version": 1}
        path = folder / f"artist.getInfo-soak-{number:03d}.yaml"
        path.write_text(yaml.safe_dump(document, width=1_000_000), encoding="utf-8")
        mbids.append(mbid)
    return mbids


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="datm-soak-"))
