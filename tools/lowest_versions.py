"""Pin every dependency of setup.cfg to its lower bound, for the lowest-versions CI run.

Usage (from the repository root)::

    python tools/lowest_versions.py > lowest.txt        # pip constraints: name==bound
    pip install -c lowest.txt 'datm[postgres,lastfm,redis,test]'
    python tools/lowest_versions.py --verify            # in that venv: installed == bound

Reads ``install_requires`` and the extras ``postgres``, ``lastfm``, ``redis`` and ``test``
of setup.cfg. Every requirement must carry a ``>=`` lower bound (a dependency without one
has no lowest version to test, so it is an error), and a package named in several places
must have the same bound everywhere (else one of them is not the truth). ``--verify``
checks, with the interpreter it runs under, that each package is installed at exactly its
bound, so a run that drifted to newer versions cannot pass as the lowest one.

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import configparser
import re
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = ("postgres", "lastfm", "redis", "test")
# name [extras] specifiers [; marker]; the specifiers are checked one by one below
REQUIREMENT = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?P<specs>[^;]*)(?:;.*)?$"
)
SPECIFIER = re.compile(r"^(?P<op>~=|==|!=|<=|>=|<|>)\s*(?P<version>[A-Za-z0-9.*+!_-]+)$")


class BoundError(ValueError):
    """setup.cfg states a requirement this script cannot pin to a lower bound."""


def normalise(name: str) -> str:
    """The PEP 503 form of a distribution name: dogpile.cache and Dogpile_Cache match."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(setup_cfg: Path) -> list[tuple[str, str]]:
    """(where, requirement) for install_requires and each extra, comments left out."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(setup_cfg, encoding="utf-8")
    sections = [("install_requires", parser.get("options", "install_requires"))]
    for extra in EXTRAS:
        sections.append((f"[{extra}]", parser.get("options.extras_require", extra)))
    lines: list[tuple[str, str]] = []
    for where, value in sections:
        for raw in value.splitlines():
            line = raw.strip()
            if line and not line.startswith("#"):
                lines.append((where, line))
    return lines


def lower_bounds(setup_cfg: Path) -> dict[str, str]:
    """{normalised name: lower bound} of every requirement, in setup.cfg's order."""
    bounds: dict[str, str] = {}
    seen_in: dict[str, str] = {}
    for where, line in requirement_lines(setup_cfg):
        match = REQUIREMENT.match(line)
        if match is None:
            raise BoundError(f"{where}: cannot read requirement {line!r}")
        name = normalise(match.group("name"))
        lows: list[str] = []
        for spec in filter(None, (s.strip() for s in match.group("specs").split(","))):
            parsed = SPECIFIER.match(spec)
            if parsed is None:
                raise BoundError(f"{where}: cannot read specifier {spec!r} of {line!r}")
            if parsed.group("op") == ">=":
                lows.append(parsed.group("version"))
        if len(lows) != 1:
            raise BoundError(f"{where}: {line!r} needs exactly one >= lower bound")
        if name in bounds and bounds[name] != lows[0]:
            raise BoundError(
                f"{name}: lower bound {bounds[name]} in {seen_in[name]} "
                f"but {lows[0]} in {where}; make them agree"
            )
        bounds.setdefault(name, lows[0])
        seen_in.setdefault(name, where)
    return bounds


def constraints(bounds: dict[str, str]) -> str:
    return "".join(f"{name}=={version}\n" for name, version in bounds.items())


def _release(version: str) -> tuple[int, ...]:
    """2.9 and 2.9.0 are the same release (PEP 440 pads with zeros)."""
    parts = [int(part) for part in re.findall(r"\d+", version.split("+")[0])]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def mismatches(bounds: dict[str, str]) -> list[str]:
    """Each package not installed at exactly its bound, in this interpreter."""
    wrong: list[str] = []
    for name, bound in bounds.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name}: not installed (bound {bound})")
            continue
        if _release(installed) != _release(bound):
            wrong.append(f"{name}: {installed} installed, bound is {bound}")
    return wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--setup-cfg", type=Path, default=ROOT / "setup.cfg")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="check that this interpreter has every package at exactly its lower bound",
    )
    args = parser.parse_args(argv)
    try:
        bounds = lower_bounds(args.setup_cfg)
    except BoundError as error:
        print(f"lowest_versions: {error}", file=sys.stderr)
        return 2
    if not args.verify:
        sys.stdout.write(constraints(bounds))
        return 0
    wrong = mismatches(bounds)
    for line in wrong:
        print(f"lowest_versions: {line}", file=sys.stderr)
    if not wrong:
        print(f"lowest_versions: all {len(bounds)} packages at their lower bounds")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
