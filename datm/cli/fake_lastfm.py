"""``datm fake-lastfm``: recorded last.fm answers over HTTPS on loopback."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from datm.cli import main


@main.command("fake-lastfm")
@click.option(
    "--recordings",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of VCR cassettes (YAML) to answer from.",
)
@click.option(
    "--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="0: a free port."
)
@click.option(
    "--ca-out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the CA certificate (PEM) that clients must trust.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="127.0.0.1 or ::1.")
@click.option("--api-key", default="datm-fake-key", show_default=True)
@click.option("--api-secret", default="datm-fake-secret", show_default=True)
def fake_lastfm(
    recordings: Path, port: int, ca_out: Path, host: str, api_key: str, api_secret: str
) -> None:
    """Serve recorded last.fm answers over HTTPS until interrupted (Ctrl-C, SIGTERM).

    Point datm at it with DATM_LASTFM_URL (printed), DATM_LASTFM_CA_FILE (the
    --ca-out file), DATM_LASTFM_API_KEY and DATM_LASTFM_API_SECRET (the two above).
    A user allows the game at /api/auth/?api_key=K&token=T&user=NAME.
    """
    try:
        from datm.fake_lastfm import FakeLastfm
    except ImportError as error:
        raise click.ClickException(
            f"the fake last.fm needs the test extra ({error}): pip install 'datm[test]'"
        ) from error

    stop = threading.Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    fake = FakeLastfm(
        recordings, api_key=api_key, api_secret=api_secret, host=host, port=port, ca_file=ca_out
    )
    with fake:
        click.echo(f"fake last.fm at {fake.url} (CA certificate: {fake.ca_file})")
        sys.stdout.flush()
        while not stop.wait(0.2):  # a timed wait lets the signal handler run promptly
            pass
    click.echo("fake last.fm stopped")
