"""Check that a built wheel holds exactly datm's source files, and its license.

Usage (from anywhere)::

    python tools/wheel_contents.py dist/datm-0.1.0-py3-none-any.whl

Every file under ``datm/`` in the source tree (``__pycache__`` aside) must be in the
wheel with the same bytes, except those in ``NOT_SHIPPED``; the wheel may hold nothing
else under ``datm/`` (a module deleted from the tree but left in a stale build
directory), and nothing at its top level but ``datm/`` and its ``.dist-info``. The
dist-info must carry the LICENSE file, the MIT license expression and the ``datm``
command. ``tests/unit/test_packaging.py`` checks the same list against setup.cfg's
package data without building anything.

Standard library only.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "datm"
# Files under datm/ that stay out of the wheel on purpose, each with its reason.
NOT_SHIPPED: dict[str, str] = {
    "datm/adapters/offline/README.md": "notes on regenerating the catalogue, for developers",
}


def source_files(root: Path = ROOT) -> dict[str, Path]:
    """{wheel path: file} of every file under datm/ of the source tree, caches aside."""
    found: dict[str, Path] = {}
    for path in sorted((root / PACKAGE).rglob("*")):
        relative = path.relative_to(root)
        if path.is_dir() or "__pycache__" in relative.parts or path.suffix == ".pyc":
            continue
        found[relative.as_posix()] = path
    return found


def expected_files(root: Path = ROOT) -> dict[str, Path]:
    return {name: path for name, path in source_files(root).items() if name not in NOT_SHIPPED}


def problems(wheel: Path, root: Path = ROOT) -> list[str]:
    found: list[str] = []
    expected = expected_files(root)
    with zipfile.ZipFile(wheel) as archive:
        names = [info.filename for info in archive.infolist() if not info.is_dir()]
        shipped = {name for name in names if name.startswith(f"{PACKAGE}/")}
        for name in sorted(set(expected) - shipped):
            found.append(f"missing from the wheel: {name}")
        for name in sorted(shipped - set(expected)):
            why = NOT_SHIPPED.get(name, "not in the source tree (a stale build?)")
            found.append(f"in the wheel but should not be: {name} ({why})")
        for name in sorted(shipped & set(expected)):
            if archive.read(name) != expected[name].read_bytes():
                found.append(f"differs from the source tree: {name}")
        info = sorted({name.split("/", 1)[0] for name in names if ".dist-info/" in name})
        tops = {name.split("/", 1)[0] for name in names} - {PACKAGE, *info}
        for top in sorted(tops):
            found.append(f"unexpected top-level entry in the wheel: {top}")
        if len(info) != 1:
            return [*found, f"expected one .dist-info directory, found {info}"]
        dist_info = info[0]
        licences = [n for n in names if n.startswith(f"{dist_info}/licenses/")]
        if f"{dist_info}/licenses/LICENSE" not in licences:
            found.append(f"no LICENSE in {dist_info}/licenses/ (found {licences})")
        elif archive.read(f"{dist_info}/licenses/LICENSE") != (root / "LICENSE").read_bytes():
            found.append("the wheel's LICENSE differs from the source tree's")
        metadata = archive.read(f"{dist_info}/METADATA").decode("utf-8")
        for line in ("License-Expression: MIT", "Requires-Python: >=3.11"):
            if line not in metadata.splitlines():
                found.append(f"METADATA lacks {line!r}")
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode("utf-8")
        if "datm = datm.cli:main" not in entry_points:
            found.append("entry_points.txt lacks the datm command")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("wheel", type=Path)
    args = parser.parse_args(argv)
    found = problems(args.wheel)
    for problem in found:
        print(f"wheel_contents: {problem}", file=sys.stderr)
    if found:
        return 1
    count = len(expected_files())
    print(f"wheel_contents: {args.wheel.name}: {count} files of datm/, as in the tree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
