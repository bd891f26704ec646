"""Write ``datm/aio/typed.py``: a typing Protocol of each service's async view.

    python tools/aio_types.py          # rewrite datm/aio/typed.py (and ruff format it)
    python tools/aio_types.py --check  # exit 1 if it is not what the services say

datm.aio finds the services' methods at run time; a type checker cannot. This
writes, from the same introspection, each view's methods with the sync method's
parameters and its result awaited (an async iterator, an async context manager),
importing each name an annotation uses from the module that defines it. A test
(tests/unit/test_aio_typed.py) fails when a service changed and this was not run.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "datm" / "aio" / "typed.py"
BUILTINS = {"None", "str", "int", "float", "bool", "bytes", "list", "dict", "tuple", "set"}
WRAPPERS = {"Iterator", "AbstractContextManager"}
HEADER = '''"""The async views' types: one Protocol per service, written by
``tools/aio_types.py`` from the services (do not edit; run it again).

``AsyncServices`` declares its attributes with them, so that a type checker knows
``await services.trading.buy(...)`` is a ``TradeReceipt``. At run time the views
are ``datm.aio.AsyncService`` objects, which these Protocols describe.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol, runtime_checkable

'''


def sources_of(module_name: str) -> dict[str, str]:
    """Each top-level name of a module: the module that defines it."""
    module = importlib.import_module(module_name)
    tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
    where: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                where[alias.asname or alias.name] = node.module
        elif isinstance(node, ast.ClassDef | ast.FunctionDef):
            where[node.name] = module_name
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    where[target.id] = module_name
    return where


def unwrap(annotation: str, kind: str) -> str:
    """The type a view's method gives: the item of an iterator, what a context
    manager yields, else the result itself."""
    if kind == "call":
        return annotation
    match = re.fullmatch(r"(?:Iterator|AbstractContextManager)\[(.*)\]", annotation)
    if match is None:
        raise SystemExit(f"cannot read {annotation!r} as a {kind}")
    return match.group(1)


def parameters(signature: inspect.Signature) -> str:
    text = []
    star = False
    for parameter in list(signature.parameters.values())[1:]:  # self
        if parameter.kind is parameter.KEYWORD_ONLY and not star:
            text.append("*")
            star = True
        item = f"{parameter.name}: {parameter.annotation}"
        if parameter.kind is parameter.VAR_POSITIONAL:
            item, star = f"*{item}", True
        elif parameter.kind is parameter.VAR_KEYWORD:
            item = f"**{item}"
        if parameter.default is not parameter.empty:
            item += f" = {parameter.default!r}"
        text.append(item)
        if parameter.kind is parameter.POSITIONAL_ONLY:
            text.append("/")
    return ", ".join(["self", *text])


def generate() -> str:
    sys.path.insert(0, str(ROOT))
    from datm.aio.views import attribute_name, public_methods
    from datm.wiring.modules import SERVICES

    imports: dict[str, set[str]] = {}
    classes: list[str] = []
    for cls in SERVICES:
        where = sources_of(cls.__module__)
        lines = [
            "@runtime_checkable",
            f"class Async{cls.__name__}(Protocol):",
            f'    """``{attribute_name(cls)}``: {cls.__name__}\'s methods, awaited."""',
        ]
        for name, kind in sorted(public_methods(cls).items()):
            signature = inspect.signature(getattr(cls, name))
            result = unwrap(str(signature.return_annotation), kind)
            given = list(signature.parameters.values())[1:]  # self
            for text in [result, *(str(p.annotation) for p in given)]:
                for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text):
                    if word in BUILTINS or word in WRAPPERS:
                        continue
                    if word not in where:
                        raise SystemExit(f"{cls.__name__}.{name}: where is {word} from?")
                    imports.setdefault(where[word], set()).add(word)
            args = parameters(signature)
            if kind == "iterator":
                lines.append(f"    def {name}({args}) -> AsyncIterator[{result}]: ...")
            elif kind == "context":
                lines.append(
                    f"    def {name}({args}) -> AbstractAsyncContextManager[{result}]: ..."
                )
            else:
                lines.append(f"    async def {name}({args}) -> {result}: ...")
        classes.append("\n".join(lines))
    # isort's order, as ruff checks it: the standard library's, then datm's.
    groups = [
        [m for m in sorted(imports, key=str.lower) if not m.startswith("datm")],
        [m for m in sorted(imports, key=str.lower) if m.startswith("datm")],
    ]
    imported = "\n\n".join(
        "\n".join(
            f"    from {module} import {', '.join(sorted(imports[module], key=str.lower))}"
            for module in group
        )
        for group in groups
        if group
    )
    return HEADER + "if TYPE_CHECKING:\n" + imported + "\n\n\n" + "\n\n\n".join(classes) + "\n"


def same_code(one: str, other: str) -> bool:
    """Equal but for the layout ``ruff format`` gives the file."""
    return ast.dump(ast.parse(one)) == ast.dump(ast.parse(other))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = generate()
    if args.check:
        if not same_code(TARGET.read_text(encoding="utf-8"), text):
            raise SystemExit(f"{TARGET} is out of date: run python tools/aio_types.py")
        return
    TARGET.write_text(text, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "ruff", "format", str(TARGET)], check=True)


if __name__ == "__main__":
    main()
