"""datm's settings: one frozen object, read from a config object and ``DATM_*``,
and checked once, when it is built (``create_injector``, ``Settings(...)``,
``Settings.load``): a bad value fails at start with ``ConfigurationError``.

Precedence: defaults, then the config object (a module such as config.py, any
object with upper-case attributes, or a mapping), then the environment.
config.example.py documents each setting and what it accepts.
"""

from __future__ import annotations

from datm.settings.model import SECRETS, Settings
from datm.settings.sources import NOT_SETTINGS

__all__ = ["NOT_SETTINGS", "SECRETS", "Settings"]
