"""The dependency rule: domain on the standard library, ports on the domain, no adapters."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import datm

PACKAGE = Path(datm.__file__).resolve().parent
STDLIB = frozenset(sys.stdlib_module_names)
INFRASTRUCTURE = ("sqlalchemy", "psycopg2", "psycopg", "pylast", "injector", "redis")


def imports_of(source: str, module: str) -> Iterator[tuple[int, str]]:
    """Every module name ``source`` imports, absolute, with its line.

    ``from a import b`` yields both ``a`` and ``a.b`` (``b`` may be a module);
    relative imports are resolved against ``module``'s package.
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level]
                base = ".".join([*package, base] if base else package)
            yield node.lineno, base
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, f"{base}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def modules_in(layer: str, root: Path = PACKAGE) -> list[tuple[str, Path]]:
    folder = root / layer
    return [
        (f"datm.{layer}." + ".".join(path.relative_to(folder).with_suffix("").parts), path)
        for path in sorted(folder.rglob("*.py"))
    ]


def violations(layer: str, allowed: tuple[str, ...], root: Path = PACKAGE) -> list[str]:
    found = []
    for module, path in modules_in(layer, root):
        for line, name in imports_of(path.read_text(encoding="utf-8"), module):
            top = name.split(".")[0]
            ok = top in STDLIB or any(
                name == prefix or name.startswith(prefix + ".") for prefix in allowed
            )
            # ``from datm.domain import x`` also yields the bare ``datm``
            if not ok and name != "datm":
                found.append(f"{path.relative_to(root.parent).as_posix()}:{line} imports {name}")
    return found


def test_the_checker_sees_absolute_relative_from_and_dynamic_imports() -> None:
    source = (
        "import sqlalchemy.orm\n"
        "from datm import adapters\n"
        "from ..ports import clock\n"
        "from . import pricing\n"
        "import importlib\n"
        "importlib.import_module('redis')\n"
        "__import__('pylast')\n"
    )
    names = {name for _, name in imports_of(source, "datm.domain.example")}
    assert {
        "sqlalchemy.orm",
        "datm.adapters",
        "datm.ports.clock",
        "datm.domain.pricing",
        "redis",
        "pylast",
    } <= names


def test_the_domain_and_ports_exist_so_the_rule_is_checked_on_real_code() -> None:
    assert len(modules_in("domain")) >= 10
    assert len(modules_in("ports")) >= 5


def test_the_domain_imports_only_the_standard_library_and_itself() -> None:
    assert violations("domain", ("datm.domain",)) == []


def test_the_domain_names_no_database_lastfm_injection_or_cache_library() -> None:
    offending = [
        f"{module}:{line} imports {name}"
        for module, path in modules_in("domain")
        for line, name in imports_of(path.read_text(encoding="utf-8"), module)
        if name.split(".")[0] in INFRASTRUCTURE
    ]
    assert offending == []


def test_ports_import_only_the_standard_library_the_domain_and_ports() -> None:
    assert violations("ports", ("datm.domain", "datm.ports")) == []


def test_no_service_imports_an_adapter() -> None:
    services = modules_in("services")
    if not services:
        pytest.skip("datm/services holds no modules yet")
    offending = [
        f"{module}:{line} imports {name}"
        for module, path in services
        for line, name in imports_of(path.read_text(encoding="utf-8"), module)
        if name == "datm.adapters" or name.startswith("datm.adapters.")
    ]
    assert offending == []


def test_a_violation_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    domain = tmp_path / "datm" / "domain"
    domain.mkdir(parents=True)
    (domain / "good.py").write_text("import os\nfrom datm.domain import pricing\n")
    (domain / "bad.py").write_text(
        "from __future__ import annotations\n\nimport os\nimport sqlalchemy\n"
        "from ..adapters import memory\n"
    )
    assert violations("domain", ("datm.domain",), root=tmp_path / "datm") == [
        "datm/domain/bad.py:4 imports sqlalchemy",
        "datm/domain/bad.py:5 imports datm.adapters",
        "datm/domain/bad.py:5 imports datm.adapters.memory",
    ]
