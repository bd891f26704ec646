"""The wheel is what users get: every package and data file of datm/ must be in it.

Fast checks against setup.cfg, without building (``tools/check_wheel.sh`` builds and
installs the real wheel): every folder of datm/ with Python files is a package that
setuptools finds, every other file is package data (or listed as not shipped, with a
reason), the license is the one setup.cfg declares, and the tools that check the built
wheel and pin the lowest versions find what they should.
"""

from __future__ import annotations

import configparser
import importlib.util
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]
DATM = ROOT / "datm"


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_tool_{name}", ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and the like look their module up
    spec.loader.exec_module(module)
    return module


wheel_contents = _tool("wheel_contents")
lowest_versions = _tool("lowest_versions")


def _setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "setup.cfg", encoding="utf-8")
    return parser


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.replace(",", "\n").splitlines() if line.strip()]


def _folders_with_python() -> set[Path]:
    return {
        path.parent
        for path in DATM.rglob("*.py")
        if "__pycache__" not in path.relative_to(ROOT).parts
    }


def test_the_source_tree_has_the_packages_to_check() -> None:
    folders = _folders_with_python()
    assert DATM in folders and DATM / "services" in folders
    assert DATM / "adapters" / "postgres" / "migrations" / "versions" in folders


def test_every_folder_of_datm_with_python_files_has_an_init_file() -> None:
    missing = sorted(
        str(folder.relative_to(ROOT))
        for folder in _folders_with_python()
        if not (folder / "__init__.py").is_file()
    )
    assert missing == [], f"not packages, so not in the wheel: {missing}"


def test_setup_cfg_finds_every_folder_with_python_files_and_nothing_else() -> None:
    options = _setup_cfg()
    assert options.get("options", "packages").strip() == "find:"
    include = _lines(options.get("options.packages.find", "include"))
    found = set(find_packages(where=str(ROOT), include=include))
    folders = {".".join(f.relative_to(ROOT).parts) for f in _folders_with_python()}

    assert found == folders


def _package_data_globs() -> list[str]:
    return _lines(_setup_cfg().get("options.package_data", "datm"))


def test_every_other_file_of_datm_is_package_data_or_not_shipped_for_a_reason() -> None:
    shipped: set[str] = set()
    for pattern in _package_data_globs():
        shipped |= {f"datm/{p.relative_to(DATM).as_posix()}" for p in DATM.glob(pattern)}
    data = {name for name in wheel_contents.source_files(ROOT) if not name.endswith(".py")}

    assert data - shipped - set(wheel_contents.NOT_SHIPPED) == set()
    assert "datm/adapters/offline/catalogue.json" in shipped
    assert "datm/adapters/postgres/migrations/script.py.mako" in shipped
    assert "datm/py.typed" in shipped


def test_each_package_data_pattern_matches_a_file() -> None:
    stale = [pattern for pattern in _package_data_globs() if not list(DATM.glob(pattern))]
    assert stale == []


def test_each_file_kept_out_of_the_wheel_exists_and_says_why() -> None:
    for name, reason in wheel_contents.NOT_SHIPPED.items():
        assert (ROOT / name).is_file(), name
        assert reason


def test_the_license_file_is_the_mit_license_setup_cfg_declares() -> None:
    metadata = _setup_cfg()["metadata"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")

    assert metadata["license_expression"] == "MIT"
    assert metadata["license_files"].strip() == "LICENSE"
    assert text.startswith("MIT License\n\nCopyright (c) 2026 the datm developers\n")
    assert "License ::" not in metadata["classifiers"]  # deprecated by the expression


def _wheel(tmp_path: Path, drop: str = "", add: dict[str, bytes] | None = None) -> Path:
    """A wheel as the build makes one, from the source tree, give or take a file."""
    path = tmp_path / "datm-0.1.0-py3-none-any.whl"
    info = "datm-0.1.0.dist-info"
    with zipfile.ZipFile(path, "w") as archive:
        for name, file in wheel_contents.expected_files(ROOT).items():
            if name != drop:
                archive.writestr(name, file.read_bytes())
        for name, content in (add or {}).items():
            archive.writestr(name, content)
        archive.writestr(f"{info}/licenses/LICENSE", (ROOT / "LICENSE").read_bytes())
        archive.writestr(
            f"{info}/METADATA", "Name: datm\nLicense-Expression: MIT\nRequires-Python: >=3.11\n"
        )
        archive.writestr(f"{info}/entry_points.txt", "[console_scripts]\ndatm = datm.cli:main\n")
        archive.writestr(f"{info}/RECORD", "")
    return path


def test_the_wheel_check_passes_a_wheel_of_the_source_tree(tmp_path: Path) -> None:
    assert wheel_contents.problems(_wheel(tmp_path), ROOT) == []


@pytest.mark.parametrize(
    ("drop", "add", "expected"),
    [
        ("datm/services/__init__.py", {}, "missing from the wheel: datm/services/__init__.py"),
        ("", {"datm/gone.py": b""}, "in the wheel but should not be: datm/gone.py"),
        ("", {"datm/adapters/offline/README.md": b""}, "for developers"),
        ("", {"tests/conftest.py": b""}, "unexpected top-level entry in the wheel: tests"),
    ],
)
def test_the_wheel_check_names_what_is_missing_or_extra(
    tmp_path: Path, drop: str, add: dict[str, bytes], expected: str
) -> None:
    found = wheel_contents.problems(_wheel(tmp_path, drop, add), ROOT)

    assert any(expected in problem for problem in found), found


def test_the_wheel_check_notices_a_file_that_differs_from_the_tree(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, drop="datm/py.typed", add={"datm/py.typed": b"stale"})

    assert wheel_contents.problems(wheel, ROOT) == ["differs from the source tree: datm/py.typed"]


def test_every_requirement_of_setup_cfg_has_a_lower_bound_to_pin() -> None:
    bounds = lowest_versions.lower_bounds(ROOT / "setup.cfg")

    assert bounds["limits"] == "5.1"  # RedisStorage(key_prefix=)
    assert bounds["psycopg2-binary"] == "2.9.5"  # the first with wheels for Python 3.11
    assert bounds["dogpile-cache"] == "1.5"  # normalised name
    assert bounds["click"] == "8.2"  # CliRunner keeps stderr apart
    assert "pytest" in bounds and "pydantic" in bounds
    assert lowest_versions.constraints({"a-b": "1.0"}) == "a-b==1.0\n"


def _cfg(tmp_path: Path, requirement: str, test_extra: str = "pytest>=7.4") -> Path:
    path = tmp_path / "setup.cfg"
    path.write_text(
        "[options]\ninstall_requires =\n    # why\n"
        f"    {requirement}\n[options.extras_require]\n"
        f"postgres =\n    sqlalchemy>=2.0\nlastfm =\n    pylast>=7.2\n"
        f"redis =\n    redis>=5.0\ntest =\n    {test_extra}\n",
        encoding="utf-8",
    )
    return path


def test_lowest_versions_reads_names_extras_and_markers(tmp_path: Path) -> None:
    bounds = lowest_versions.lower_bounds(
        _cfg(tmp_path, "Dogpile_Cache[redis] >= 1.5, <2 ; python_version >= '3.11'")
    )

    assert bounds == {
        "dogpile-cache": "1.5",
        "sqlalchemy": "2.0",
        "pylast": "7.2",
        "redis": "5.0",
        "pytest": "7.4",
    }


@pytest.mark.parametrize(
    ("requirement", "test_extra", "message"),
    [
        ("injector", "pytest>=7.4", "needs exactly one >= lower bound"),
        ("injector<1", "pytest>=7.4", "needs exactly one >= lower bound"),
        ("injector>=0.21", "injector>=0.22", "make them agree"),
    ],
)
def test_lowest_versions_refuses_a_requirement_it_cannot_pin(
    tmp_path: Path, requirement: str, test_extra: str, message: str
) -> None:
    with pytest.raises(lowest_versions.BoundError, match=message):
        lowest_versions.lower_bounds(_cfg(tmp_path, requirement, test_extra))


def test_lowest_versions_verify_compares_releases_not_spellings() -> None:
    assert (
        lowest_versions.mismatches({"pytest": ".".join(map(str, pytest.version_tuple[:3]))}) == []
    )
    wrong = lowest_versions.mismatches({"pytest": "0.1", "no-such-package-datm": "1.0"})

    assert wrong == [
        f"pytest: {pytest.__version__} installed, bound is 0.1",
        "no-such-package-datm: not installed (bound 1.0)",
    ]
