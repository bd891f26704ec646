"""Where settings come from: a config object, then ``DATM_<NAME>`` variables.

A config object is a module such as config.py, any object with upper-case
attributes, or a mapping with upper-case keys or field names (upper-case wins).
Names it holds that are not datm's are left alone: a program's config module
carries its own settings too (Flask's ``app.config`` is such a mapping), so datm
cannot tell a typo from the program's own ``SECRET_KEY``. A ``DATM_`` name in it
is reported, though: that prefix belongs to the environment, so it is a mistake.

The environment is datm's alone under ``DATM_``: a variable there that names no
setting is reported, with the nearest name, except those in ``NOT_SETTINGS``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from datm.domain.errors import ConfigurationError

PREFIX = "DATM_"

# DATM_* variables datm knows are not settings: the test suite's and CI's
# (tests/postgres_support.py, tests/cache/redis_support.py, tests/stateful, .ci/run).
# A new one must be added here, or every program started under it refuses to start.
NOT_SETTINGS = frozenset(
    {
        "DATM_TEST_DATABASE_URL",
        "DATM_TEST_REDIS_URL",
        "DATM_REQUIRE_POSTGRES",
        "DATM_REQUIRE_REDIS",
        "DATM_STATEFUL_EXAMPLES",
        "DATM_STATEFUL_PG_EXAMPLES",
    }
)
UNKNOWN_ALLOWED = "DATM_ and the name of a setting in config.example.py"


@dataclass
class Gathered:
    """Raw values by field name, where each came from (for the error), and the
    problems found while reading (unknown variables)."""

    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    problems: list[ConfigurationError] = field(default_factory=list)


def gather(names: Iterable[str], config: object, environ: Mapping[str, str]) -> Gathered:
    """``names`` are the settings' field names, lower-case."""
    names = list(names)
    found = Gathered()
    if config is not None:
        _from_config(names, config, found)
    known = {PREFIX + name.upper() for name in names}
    for name in names:
        variable = PREFIX + name.upper()
        if variable in environ:
            found.values[name] = environ[variable]
            found.origins[name] = f"{variable} in the environment"
    for variable in sorted(v for v in environ if isinstance(v, str) and v.startswith(PREFIX)):
        if variable not in known and variable not in NOT_SETTINGS:
            found.problems.append(_unknown(variable, known | NOT_SETTINGS))
    return found


def _from_config(names: list[str], config: object, found: Gathered) -> None:
    if isinstance(config, Mapping):
        for name in names:
            for key in (name.upper(), name):
                if key in config:
                    found.values[name] = config[key]
                    found.origins[name] = f"{key} in the config mapping"
                    break
        keys: Iterable[object] = config.keys()
    else:
        for name in names:
            if hasattr(config, name.upper()):
                found.values[name] = getattr(config, name.upper())
                found.origins[name] = f"{name.upper()} in the config object"
        keys = dir(config)
    for key in sorted(k for k in keys if isinstance(k, str) and k.startswith(PREFIX)):
        found.problems.append(
            ConfigurationError(
                key,
                f"{key} is in the config object, where datm reads settings without the "
                f"{PREFIX} prefix of the environment, so it would be ignored",
                f"{key.removeprefix(PREFIX)} in the config object, or {key} in the environment",
            )
        )


def _unknown(variable: str, known: set[str] | frozenset[str]) -> ConfigurationError:
    near = difflib.get_close_matches(variable.upper(), sorted(known), n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]}?" if near else ""
    return ConfigurationError(
        variable,
        f"{variable} in the environment is not a datm setting{hint}",
        UNKNOWN_ALLOWED,
    )


def suggestion(name: str, names: Iterable[str]) -> str:
    """ "; did you mean X?" for a keyword that is not a field, or nothing."""
    near = difflib.get_close_matches(name.lower(), sorted(names), n=1, cutoff=0.6)
    return f"; did you mean {near[0]}?" if near else ""
