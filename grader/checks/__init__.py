"""The check library: importing this package registers every check kind in its modules.

A new kind is one function in a module of this package, registered with `@check_kind(...)`;
every module here is imported, so nothing else needs editing.
"""

import importlib
import pkgutil

from grader.checks.registry import KINDS  # noqa: F401

_SUPPORT = {"registry", "context", "expect", "oracle", "compare"}  # modules that define no kinds

for _info in pkgutil.iter_modules(__path__):
    if _info.name not in _SUPPORT:
        importlib.import_module(f"{__name__}.{_info.name}")
