"""``datm fake-lastfm``: recorded last.fm answers over HTTPS on loopback."""

from __future__ import annotations

import errno
import ipaddress
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from datm.cli import main
from datm.cli.console import log_options


def _loopback(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """The fake answers anyone with recorded data and made-up sessions: loopback only."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an IP address (127.0.0.1 or ::1)") from None
    if not address.is_loopback:
        raise click.BadParameter(f"{value} is not a loopback address (127.0.0.1 or ::1)")
    return value


def _cassettes(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    if not [*value.glob("*.yaml"), *value.glob("*.yml")]:
        raise click.BadParameter(f"no cassettes (*.yaml, *.yml) in {value}")
    return value


@main.command("fake-lastfm")
@click.option(
    "--recordings",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    callback=_cassettes,
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
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    callback=_loopback,
    help="A loopback address: 127.0.0.1 or ::1.",
)
@click.option("--api-key", default="datm-fake-key", show_default=True)
@click.option("--api-secret", default="datm-fake-secret", show_default=True)
@log_options
def fake_lastfm(
    recordings: Path, port: int, ca_out: Path, host: str, api_key: str, api_secret: str
) -> None:
    """Serve recorded last.fm answers over HTTPS until interrupted (Ctrl-C, SIGTERM).

    Point datm at it with DATM_LASTFM_URL (printed), DATM_LASTFM_CA_FILE (the
    --ca-out file), DATM_LASTFM_API_KEY and DATM_LASTFM_API_SECRET (the two above).
    A user allows the game at /api/auth/?api_key=K&token=T&user=NAME.
    """
    try:
        import yaml

        from datm.fake_lastfm import FakeLastfm
    except ImportError as error:
        raise click.ClickException(
            f"the fake last.fm needs the test extra ({error}): pip install 'datm[test]'"
        ) from error

    stop = threading.Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        fake = FakeLastfm(
            recordings, api_key=api_key, api_secret=api_secret, host=host, port=port, ca_file=ca_out
        )
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as error:  # not cassettes
        raise click.BadParameter(
            f"cannot read {recordings}: {error}", param_hint="--recordings"
        ) from None
    try:
        fake.start()
    except OSError as error:
        fake.stop()  # what start() made before it failed
        if error.errno == errno.EADDRINUSE:
            raise click.ClickException(f"port {port} on {host} is already in use") from None
        raise click.ClickException(f"cannot start on {host} port {port}: {error}") from None
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        click.echo(f"fake last.fm at {fake.url} (CA certificate: {fake.ca_file})")
        sys.stdout.flush()
        while not stop.wait(0.2):  # a timed wait lets the signal handler run promptly
            pass
    finally:
        fake.stop()
    click.echo("fake last.fm stopped")
