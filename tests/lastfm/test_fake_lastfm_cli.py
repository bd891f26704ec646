"""``datm fake-lastfm``: starts, serves over TLS with the CA it wrote, and stops."""

from __future__ import annotations

import http.client
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from click.testing import CliRunner
from lastfm_http import TIMEOUT_SECONDS
from recorded_lastfm import RECORDINGS, interactions

from datm.cli import main
from datm.fake_lastfm import DEFAULT_API_KEY, DEFAULT_API_SECRET

DATM = Path(sys.executable).with_name("datm")
STARTUP_SECONDS = 30


def get_over_tls(port: int, ca_file: Path, path: str) -> tuple[int, str]:
    context = ssl.create_default_context(cafile=str(ca_file))
    connection = http.client.HTTPSConnection(
        "127.0.0.1", port, context=context, timeout=TIMEOUT_SECONDS
    )
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8")
    finally:
        connection.close()


def test_datm_fake_lastfm_serves_a_recording_over_tls_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    ca_file = tmp_path / "ca" / "fake-lastfm.pem"
    options = ["--port", "0", "--ca-out", str(ca_file), "--api-key", "k1", "--api-secret", "s1"]
    server = subprocess.Popen(
        [str(DATM), "fake-lastfm", "--recordings", str(RECORDINGS), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(STARTUP_SECONDS, server.kill)  # bounds the readline below
    watchdog.start()
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        watchdog.cancel()
        found = re.search(r"fake last\.fm at (https://\S+)", first)
        assert found, f"no address in {first!r}"
        url = urlsplit(found.group(1))
        assert url.path == "/2.0/" and url.hostname == "127.0.0.1" and url.port
        query = urlencode({"method": "chart.getTopArtists", "limit": "1", "api_key": "k1"})

        status, body = get_over_tls(url.port, ca_file, f"/2.0/?{query}")

        recorded = interactions("chart.getTopArtists-limit1.yaml")[0]["response"]["body"]
        assert status == 200
        assert body == recorded["string"]
    finally:
        watchdog.cancel()
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=STARTUP_SECONDS)
    assert server.returncode == 0, err
    assert "stopped" in out


def test_datm_fake_lastfm_refuses_a_missing_recordings_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(DATM), "fake-lastfm", "--recordings", str(tmp_path / "none"), "--ca-out", "x.pem"],
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
    )

    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_datm_fake_lastfm_documents_the_default_key_and_secret_it_knows() -> None:
    result = CliRunner().invoke(main, ["fake-lastfm", "--help"])

    assert result.exit_code == 0
    assert DEFAULT_API_KEY in result.output
    assert DEFAULT_API_SECRET in result.output


def refused(*args: str) -> tuple[int, str]:
    """Exit status and stderr of ``datm fake-lastfm`` refusing to start."""
    result = CliRunner().invoke(main, ["fake-lastfm", *args])
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("Error:")]) == 1
    return result.exit_code, result.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.org"])
def test_datm_fake_lastfm_refuses_a_host_that_is_not_loopback(tmp_path: Path, host: str) -> None:
    code, err = refused("--recordings", str(RECORDINGS), "--ca-out", "x.pem", "--host", host)

    assert code == 2
    assert "--host" in err
    assert "not a loopback address" in err or "not an IP address" in err


def test_datm_fake_lastfm_refuses_a_recordings_folder_without_cassettes(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no cassettes here", encoding="utf-8")

    for folder in (tmp_path / "empty", tmp_path):
        folder.mkdir(exist_ok=True)
        code, err = refused("--recordings", str(folder), "--ca-out", str(tmp_path / "ca.pem"))

        assert code == 2
        assert "no cassettes" in err


def test_datm_fake_lastfm_refuses_a_cassette_that_is_not_one(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("- just\n- a list\n", encoding="utf-8")

    code, err = refused("--recordings", str(tmp_path), "--ca-out", str(tmp_path / "ca.pem"))

    assert code == 2
    assert "not a VCR cassette" in err


def test_datm_fake_lastfm_on_a_port_already_taken_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        options = ["--port", str(port), "--ca-out", str(tmp_path / "ca.pem")]
        result = subprocess.run(
            [str(DATM), "fake-lastfm", "--recordings", str(RECORDINGS), *options],
            capture_output=True,
            text=True,
            timeout=STARTUP_SECONDS,
        )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == f"Error: port {port} on 127.0.0.1 is already in use"
