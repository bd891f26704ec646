"""Run every fenced code block of README.md, in order, as a newcomer pasting them would.

Usage::

    python tools/readme_blocks.py README.md --database-url postgresql://postgres@127.0.0.1/x
    python tools/readme_blocks.py README.md --only python     # the python blocks alone
    python tools/readme_blocks.py README.md --list            # the plan; runs nothing

The interpreter that runs this script is the one the blocks get: python blocks run
under it, and its directory leads PATH for sh blocks, so ``datm`` and ``python3`` there
are that environment's (``tools/check_wheel.sh`` runs it from the venv of the installed
wheel, outside the source tree). Exit status: 0 when every block ran and succeeded,
1 at the first block that failed (the run stops there, as a newcomer would), 2 when
the README breaks the convention below (nothing runs then).

The convention, for whoever adds a section to the README
--------------------------------------------------------
Every fenced block (three backticks and a language) is one of:

- ``python``: run in a fresh interpreter (``python`` of this environment), unless marked
  ``continue``. Tracebacks point at README.md's own line numbers. Write it whole: its own
  imports and real values, so that it runs when pasted into a new interpreter. The
  interpreters stay open until the end of the run, for the blocks that continue them;
  each keeps the environment it started with (what later sh blocks export reaches the
  interpreters started after them). Its working directory is on sys.path, as for
  ``python`` in a terminal: a module an earlier sh block wrote there can be imported.
- ``sh`` or ``bash``: run by ``bash -euo pipefail``, so a failing command fails the block.
  Variables it exports stay set for the blocks after it (one terminal session); anything
  it leaves running is killed when it ends (see ``background``). Each block starts in the
  work directory (a fresh temporary directory, or ``--workdir``), never the source tree.
- ``text``: not code (a diagram, a listing of output); not run. A block without a
  language is refused: say ``text``.

Markers: HTML comments (invisible on GitHub) on the lines right above the opening fence,
one directive each, ``<!-- readme-run: DIRECTIVE -->``:

- ``session: NAME``: names the interpreter a python block starts, for ``continue: NAME``.
- ``continue`` or ``continue: NAME``: a python block that goes on in the interpreter of
  the previous python block (or of the block marked ``session: NAME``), its names still
  defined, as in one REPL session. Say so in the block too, in a comment.
- ``skip: REASON``: the block is not run; the runner prints REASON. Only for what cannot
  run here, e.g. ``make test``, which is what CI itself runs. Keep these rare.
- ``background: READY``: an sh block whose first line starts a server (``datm
  fake-lastfm ...``). That line runs in the background; the runner waits (within the
  block's timeout) until the server prints READY, then runs the block's other lines. The
  server is stopped (SIGTERM, then SIGKILL) after the last block, and fails the run if it
  died before that.
- ``replace: OLD => NEW``: run the block with each OLD replaced by NEW (OLD must occur).
  Only for what the runner must supply; NEW may use ``{database_url}`` (the scratch
  database of ``--database-url``), ``{port}`` (a free loopback port, one per block),
  ``{workdir}`` and ``{source}`` (the directory of README.md: the repository).
  E.g. a placeholder host ``db.internal``, a fixed port, a path in the source tree.
- ``timeout: SECONDS``: the block's bound (default 120). Every block has one.

Bounded and local: a block that outruns its timeout is killed (a python block dumps its
stack first) and fails. Every Python process the blocks start (the blocks themselves,
``datm`` and any other Python command) refuses, through an audit hook installed by a
``sitecustomize`` on PYTHONPATH, name look-ups and connections to anything but
127.0.0.1, ::1 and localhost (Unix sockets are fine). libpq's connections are not
Python's and are not seen: database URLs come only from ``--database-url``, which must
name a loopback host. The blocks get a clean environment: PATH, HOME (the work
directory), LANG, TMPDIR and what the blocks export; none of the caller's DATM_*
variables.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO
from urllib.parse import urlsplit

DEFAULT_TIMEOUT = 120.0
STOP_SECONDS = 10.0
RUNNABLE = {"python", "sh", "bash"}
NOT_CODE = {"text"}
MARKER = re.compile(r"^\s*<!--\s*readme-run:\s*(?P<directive>.*?)\s*-->\s*$")
STRAY_MARKER = re.compile(r"<!--.*readme-run")
FENCE = re.compile(r"^(?P<indent>\s{0,3})(?P<fence>`{3,})(?P<info>[^`]*)$")
SESSION_NAME = re.compile(r"^[a-z0-9_-]+$")
PLACEHOLDER = re.compile(r"\{(database_url|port|workdir|source)\}")
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
# bash sets these itself; they are not what a block exported
SHELL_OWN = {"_", "PWD", "OLDPWD", "SHLVL", "README_BLOCKS_ENV"}

# Installed as sitecustomize.py in every Python process the blocks start.
NETWORK_GUARD = '''\
"""readme_blocks: refuse the network beyond loopback (installed by tools/readme_blocks.py)."""
import ipaddress
import socket
import sys

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _loopback(host):
    if host is None:
        return True  # getaddrinfo(None, port): the local wildcard, for bind
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").split("%", 1)[0]
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def readme_blocks_network_guard(event, args):
    if event == "socket.getaddrinfo":
        host = args[0]
    elif event in ("socket.connect", "socket.sendto"):
        sock, address = args[0], args[1]
        if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
            return  # Unix sockets and the like stay on this machine
        host = address[0]
    elif event in ("socket.gethostbyname", "socket.gethostbyaddr"):
        host = args[0]
    elif event == "socket.getnameinfo":
        host = args[0][0]
    else:
        return
    if not _loopback(host):
        raise PermissionError(
            f"readme_blocks: network to {host!r} refused: README blocks may reach only "
            "127.0.0.1, ::1 and localhost"
        )


sys.addaudithook(readme_blocks_network_guard)
'''

# The interpreter of a python chain: runs each block it is sent in one namespace.
DRIVER = """\
import faulthandler, json, os, sys, traceback
commands = os.fdopen(int(sys.argv[1]), "r", encoding="utf-8")
status = os.fdopen(int(sys.argv[2]), "w", encoding="utf-8")
namespace = {"__name__": "__main__", "__builtins__": __builtins__}
for message in commands:
    block = json.loads(message)
    ok = True
    faulthandler.dump_traceback_later(block["timeout"], exit=True)
    try:
        padded = "\\n" * (block["line"] - 1) + block["code"]
        exec(compile(padded, block["path"], "exec"), namespace)
    except SystemExit as stop:
        ok = stop.code in (None, 0)
        if not ok:
            print(f"SystemExit: {stop.code!r}", file=sys.stderr)
    except BaseException as error:
        traceback.print_exception(type(error), error, error.__traceback__.tb_next)
        ok = False
    finally:
        faulthandler.cancel_dump_traceback_later()
    sys.stdout.flush()
    sys.stderr.flush()
    status.write("ok\\n" if ok else "failed\\n")
    status.flush()
"""


class ConventionError(ValueError):
    """The README breaks the convention: nothing is run."""


class BlockFailed(RuntimeError):
    """A block failed; the run stops."""


@dataclass
class Block:
    path: str
    fence_line: int  # the opening fence, 1-based
    language: str
    code: str
    continues: str | None = None  # "" for the previous python block's interpreter
    session: str | None = None
    skip: str | None = None
    background: str | None = None
    replaces: list[tuple[str, str]] = field(default_factory=list)
    timeout: float = DEFAULT_TIMEOUT

    @property
    def first_line(self) -> int:
        return self.fence_line + 1

    @property
    def where(self) -> str:
        return f"{self.path}:{self.fence_line}"

    @property
    def kind(self) -> str:
        return "sh" if self.language in ("sh", "bash") else self.language


def _apply(block: Block, directive: str, line: int) -> None:
    where = f"{block.path}:{line}"
    name, _, argument = directive.partition(":")
    name, argument = name.strip(), argument.strip()
    if name in ("continue", "session"):
        if block.kind != "python":
            raise ConventionError(f"{where}: {name} is for python blocks")
        if name == "session" and not SESSION_NAME.match(argument):
            raise ConventionError(f"{where}: session needs a name ([a-z0-9_-]+)")
        if name == "continue" and argument and not SESSION_NAME.match(argument):
            raise ConventionError(f"{where}: continue: NAME needs a name ([a-z0-9_-]+)")
        if name == "session":
            block.session = argument
        else:
            block.continues = argument
    elif name == "skip":
        if not argument:
            raise ConventionError(f"{where}: skip needs a reason: <!-- readme-run: skip: WHY -->")
        block.skip = argument
    elif name == "background":
        if block.kind != "sh":
            raise ConventionError(f"{where}: background is for sh blocks")
        if not argument:
            raise ConventionError(f"{where}: background needs the text the server prints")
        block.background = argument
    elif name == "replace":
        old, arrow, new = argument.partition("=>")
        if not arrow or not old.strip():
            raise ConventionError(f"{where}: replace needs OLD => NEW, got {argument!r}")
        block.replaces.append((old.strip(), new.strip()))
    elif name == "timeout":
        try:
            block.timeout = float(argument)
        except ValueError:
            raise ConventionError(f"{where}: timeout needs seconds, got {argument!r}") from None
        if not 0 < block.timeout <= 3600:
            raise ConventionError(f"{where}: timeout must be within (0, 3600] seconds")
    else:
        raise ConventionError(f"{where}: unknown directive {directive!r}")


def parse(text: str, path: str = "README.md") -> list[Block]:
    """The README's fenced blocks with their markers, checked against the convention."""
    lines = text.splitlines()
    blocks: list[Block] = []
    pending: list[tuple[int, str]] = []  # markers waiting for their fence
    index = 0
    while index < len(lines):
        number, line = index + 1, lines[index]
        marker = MARKER.match(line)
        fence = FENCE.match(line)
        if marker:
            pending.append((number, marker.group("directive")))
        elif fence:
            language = fence.group("info").strip().split(" ", 1)[0].lower()
            closing = re.compile(rf"^\s{{0,3}}`{{{len(fence.group('fence'))},}}\s*$")
            body: list[str] = []
            index += 1
            while index < len(lines) and not closing.match(lines[index]):
                body.append(lines[index][len(fence.group("indent")) :])
                index += 1
            if index == len(lines):
                raise ConventionError(f"{path}:{number}: code block never closed")
            if not language:
                raise ConventionError(
                    f"{path}:{number}: a code block without a language; "
                    "say python, sh or text (text is not run)"
                )
            if language not in RUNNABLE | NOT_CODE:
                raise ConventionError(
                    f"{path}:{number}: language {language!r}: the runner knows "
                    f"{', '.join(sorted(RUNNABLE | NOT_CODE))}"
                )
            block = Block(path, number, language, "\n".join(body) + "\n")
            for marker_line, directive in pending:
                if language in NOT_CODE:
                    raise ConventionError(f"{path}:{marker_line}: marker on a text block")
                _apply(block, directive, marker_line)
            pending = []
            for old, _ in block.replaces:
                if old not in block.code:
                    raise ConventionError(f"{block.where}: replace: {old!r} is not in the block")
            if block.background and block.skip:
                raise ConventionError(f"{block.where}: a skipped block starts no server")
            blocks.append(block)
        elif pending and line.strip():
            raise ConventionError(f"{path}:{pending[0][0]}: marker not directly above a code block")
        elif STRAY_MARKER.search(line):
            raise ConventionError(f"{path}:{number}: malformed marker {line.strip()!r}")
        index += 1
    if pending:
        raise ConventionError(f"{path}:{pending[0][0]}: marker not directly above a code block")
    _check_sessions(blocks)
    return blocks


def _check_sessions(blocks: Sequence[Block]) -> None:
    named: set[str] = set()
    python_before = False
    for block in blocks:
        if block.kind != "python":
            continue
        if block.session is not None and block.continues is not None:
            raise ConventionError(f"{block.where}: a block starts a session or continues one")
        if block.continues == "" and not python_before:
            raise ConventionError(f"{block.where}: continue, but no python block before it")
        if block.continues and block.continues not in named:
            raise ConventionError(
                f"{block.where}: continue: {block.continues}, but no block above says "
                f"session: {block.continues}"
            )
        if block.session is not None:
            if block.session in named:
                raise ConventionError(f"{block.where}: session {block.session} named twice")
            named.add(block.session)
        python_before = True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def check_loopback_url(url: str) -> str:
    """A database URL must name a loopback host (or a Unix socket directory)."""
    parts = urlsplit(url)
    host = parts.hostname
    if host is None or host in LOOPBACK_HOSTS:
        return url
    raise ConventionError(f"--database-url must be on 127.0.0.1, ::1 or localhost, not {host}")


def _kill_group(process: subprocess.Popen[str], sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _stop(process: subprocess.Popen[str]) -> int:
    """SIGTERM the process's group, then SIGKILL if it lingers; its exit status."""
    if process.poll() is None:
        _kill_group(process, signal.SIGTERM)
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            _kill_group(process, signal.SIGKILL)
            process.wait(STOP_SECONDS)
    _kill_group(process, signal.SIGKILL)  # whatever it left behind in its group
    return process.returncode


def say(message: str) -> None:
    print(message, flush=True)


class PythonChain:
    """One interpreter for a python block and the blocks that continue it."""

    def __init__(self, python: str, env: dict[str, str], cwd: Path) -> None:
        command_read, self._commands = os.pipe()
        self._status, status_write = os.pipe()
        self.process = subprocess.Popen(
            [python, "-c", DRIVER, str(command_read), str(status_write)],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            pass_fds=(command_read, status_write),
            start_new_session=True,
            text=True,
        )
        os.close(command_read)
        os.close(status_write)
        self._status_file = os.fdopen(self._status, "r", encoding="utf-8")
        self._closed = False

    def run(self, block: Block, code: str) -> bool:
        message = {
            "path": block.path,
            "line": block.first_line,
            "code": code,
            "timeout": block.timeout,
        }
        try:
            if self._closed:
                raise BrokenPipeError
            os.write(self._commands, (json.dumps(message) + "\n").encode("utf-8"))
        except BrokenPipeError:
            say(f"    the interpreter of this session has exited ({self.process.poll()})")
            return False
        ready, _, _ = select.select([self._status], [], [], block.timeout + STOP_SECONDS)
        if not ready:
            say(f"    timed out after {block.timeout:.0f} s; interpreter killed")
            self.close()
            return False
        answer = self._status_file.readline().strip()
        if not answer:
            status = self.process.wait(STOP_SECONDS)
            say(f"    the interpreter exited with status {status} (past its timeout, or crashed)")
            return False
        return answer == "ok"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        os.close(self._commands)  # the driver's loop ends: the interpreter exits
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(2)
        _stop(self.process)
        self._status_file.close()


class Server:
    """A block's first line, run in the background until the end of the run."""

    def __init__(self, block: Block, line: str, env: dict[str, str], cwd: Path) -> None:
        self.block = block
        self.command = line
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc", "-c", f"exec {line}"],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stream: IO[str] | None = self.process.stdout
        assert stream is not None
        for text in stream:
            say(f"    [server {self.block.where}] {text.rstrip()}")
            if self.block.background and self.block.background in text:
                self.ready.set()

    def wait_ready(self) -> bool:
        deadline = time.monotonic() + self.block.timeout
        while time.monotonic() < deadline:
            if self.ready.wait(0.1):
                return True
            if self.process.poll() is not None:
                say(f"    the server exited with status {self.process.returncode} before ready")
                return False
        say(f"    the server did not print {self.block.background!r} in {self.block.timeout} s")
        return False

    def stop(self) -> bool:
        """Stop it; False when it had died early or did not stop cleanly."""
        early = self.process.poll()
        if early is not None:
            say(f"--- server of {self.block.where} had exited early with status {early}")
            return False
        status = _stop(self.process)
        self._reader.join(STOP_SECONDS)
        say(f"--- stopped the server of {self.block.where} (pid {self.process.pid}): {status}")
        return status in (0, -signal.SIGTERM)


@dataclass
class Runner:
    readme: Path
    python: str
    workdir: Path
    database_url: str | None
    only: str | None
    env: dict[str, str]
    sessions: dict[str, PythonChain] = field(default_factory=dict)
    last: PythonChain | None = None
    servers: list[Server] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def substitute(self, block: Block) -> str:
        port = str(free_port())

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "database_url":
                if self.database_url is None:
                    raise ConventionError(f"{block.where} needs --database-url")
                return self.database_url
            if name == "port":
                return port
            if name == "workdir":
                return str(self.workdir)
            return str(self.readme.parent)

        code = block.code
        for old, new in block.replaces:
            code = code.replace(old, PLACEHOLDER.sub(value, new))
        return code

    def run(self, blocks: Sequence[Block]) -> None:
        for block in blocks:
            if block.kind in NOT_CODE:
                self.count("text")
                continue
            if block.skip is not None:
                say(f"--- {block.where} {block.kind}: not run: {block.skip}")
                self.count("skipped")
                continue
            if self.only is not None and block.kind != self.only:
                say(f"--- {block.where} {block.kind}: not run (--only {self.only})")
                self.count(f"not {self.only}")
                continue
            code = self.substitute(block)
            started = time.monotonic()
            if block.kind == "python":
                ok = self.run_python(block, code)
            else:
                ok = self.run_sh(block, code)
            took = time.monotonic() - started
            if not ok:
                raise BlockFailed(f"{block.where} {block.kind} failed after {took:.1f} s")
            say(f"--- {block.where} {block.kind}: ok in {took:.1f} s")
            self.count("ran")

    def run_python(self, block: Block, code: str) -> bool:
        if block.continues is None:
            chain = PythonChain(self.python, self.env, self.workdir)
            self.sessions[block.session or f"@{block.where}"] = chain
            say(f"--- {block.where} python (a fresh interpreter)")
        else:
            found = self.sessions.get(block.continues) if block.continues else self.last
            if found is None:  # the block it continues was not run (skip, --only)
                raise BlockFailed(f"{block.where}: the block it continues did not run")
            chain = found
            named = f" {block.continues}" if block.continues else ""
            say(f"--- {block.where} python (goes on in the interpreter{named} above)")
        self.last = chain
        return chain.run(block, code)

    def run_sh(self, block: Block, code: str) -> bool:
        if block.background:
            first, _, code = code.partition("\n")
            say(f"--- {block.where} sh, in the background: {first}")
            server = Server(block, first, dict(self.env), self.workdir)
            self.servers.append(server)
            if not server.wait_ready():
                return False
            # keep the block's line numbers in bash's messages
            code = "\n" + code
        say(f"--- {block.where} sh")
        with tempfile.NamedTemporaryFile(dir=self.workdir, prefix=".env-", delete=False) as out:
            env_file = Path(out.name)
        script = f"trap 'env -0 > \"$README_BLOCKS_ENV\"' EXIT; {code}"
        process = subprocess.Popen(
            ["bash", "--noprofile", "--norc", "-euo", "pipefail", "-c", script],
            cwd=self.workdir,
            env={**self.env, "README_BLOCKS_ENV": str(env_file)},
            stdin=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
        )
        try:
            status = process.wait(block.timeout)
        except subprocess.TimeoutExpired:
            say(f"    timed out after {block.timeout:.0f} s; killed")
            _stop(process)
            return False
        finally:
            _kill_group(process, signal.SIGKILL)  # what it left running
        exported = env_file.read_bytes().split(b"\0") if env_file.exists() else []
        env_file.unlink(missing_ok=True)
        if status != 0:
            say(f"    exit status {status}")
            return False
        self.env = {}
        for item in filter(None, exported):
            name, _, value = item.decode("utf-8", "surrogateescape").partition("=")
            if name not in SHELL_OWN:
                self.env[name] = value
        return True

    def close(self) -> bool:
        clean = True
        for chain in self.sessions.values():
            chain.close()
        for server in self.servers:
            clean = server.stop() and clean
        return clean


def base_env(python: str, workdir: Path, guard_dir: Path) -> dict[str, str]:
    bin_dir = str(Path(python).parent)
    return {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "TMPDIR": str(workdir),
        "PYTHONPATH": str(guard_dir),
        "PYTHONUNBUFFERED": "1",
    }


@contextmanager
def directory(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="readme-blocks-") as made:
        yield Path(made).resolve()


def _terminate(number: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + number)  # runs the finally blocks: servers are stopped


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run every fenced code block of a README (see the module docstring)."
    )
    parser.add_argument("readme", type=Path, nargs="?", default=Path("README.md"))
    parser.add_argument("--database-url", help="a scratch database on loopback, for blocks")
    parser.add_argument("--workdir", type=Path, help="where blocks run (default: a temp dir)")
    parser.add_argument("--only", choices=["python", "sh"], help="run only blocks of a kind")
    parser.add_argument("--list", action="store_true", help="print the plan; run nothing")
    args = parser.parse_args(argv)

    readme = args.readme.resolve()
    try:
        blocks = parse(readme.read_text(encoding="utf-8"), args.readme.name)
        database_url = check_loopback_url(args.database_url) if args.database_url else None
    except ConventionError as error:
        print(f"readme_blocks: {error}", file=sys.stderr)
        return 2
    needs_database = [
        block.where
        for block in blocks
        if block.skip is None
        and block.kind != "text"
        and args.only in (None, block.kind)
        and any("{database_url}" in new for _, new in block.replaces)
    ]
    if needs_database and database_url is None and not args.list:
        print(f"readme_blocks: {', '.join(needs_database)} need --database-url", file=sys.stderr)
        return 2
    kinds = [block.kind for block in blocks]
    say(
        f"readme_blocks: {args.readme.name}: {len(blocks)} blocks "
        f"({kinds.count('python')} python, {kinds.count('sh')} sh, {kinds.count('text')} text)"
    )
    if args.list:
        for block in blocks:
            notes = [f"skip: {block.skip}"] if block.skip else []
            notes += [f"session: {block.session}"] if block.session else []
            if block.continues is not None:
                notes += [f"continue: {block.continues}" if block.continues else "continue"]
            notes += [f"background until {block.background!r}"] if block.background else []
            notes += [f"replace {old!r} => {new!r}" for old, new in block.replaces]
            say(f"  {block.where} {block.kind}" + "".join(f"; {note}" for note in notes))
        return 0

    signal.signal(signal.SIGTERM, _terminate)
    with directory(args.workdir) as workdir, tempfile.TemporaryDirectory() as guard:
        guard_dir = Path(guard)
        (guard_dir / "sitecustomize.py").write_text(NETWORK_GUARD, encoding="utf-8")
        runner = Runner(
            readme,
            sys.executable,
            workdir,
            database_url,
            args.only,
            base_env(sys.executable, workdir, guard_dir),
        )
        failure: str | None = None
        try:
            runner.run(blocks)
        except (BlockFailed, ConventionError) as error:
            failure = str(error)
        finally:
            clean = runner.close()
        if failure is None and not clean:
            failure = "a background server died early or did not stop cleanly"
    summary = ", ".join(f"{n} {what}" for what, n in runner.counts.items()) or "nothing"
    if failure is not None:
        say(f"readme_blocks: FAILED: {failure} ({summary})")
        return 1
    say(f"readme_blocks: every block ok ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
